"""Shared column helpers and the metadata naming convention (equal names on both stores)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from app.db import JSONType, UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def timestamp(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def short_text(length: int = 32, **kwargs: Any) -> Any:
    return Field(sa_type=String(length), **kwargs)


def json_field() -> Any:
    return Field(default_factory=dict, sa_type=JSONType, nullable=False)


__all__ = ["SQLModel", "Field", "datetime", "now_field", "timestamp", "short_text", "json_field"]
