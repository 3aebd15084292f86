"""Engine and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on both stores (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas the store relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, module=sqlite_dbapi(),
                               connect_args={"check_same_thread": False}, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@cache
def sqlite_dbapi() -> ModuleType:
    """The SQLite driver: sqlean.py, the stdlib's sqlite3 API over a current SQLite with
    the `stats` extension. Reports need exact percentiles over a hundred thousand waits;
    the stdlib's SQLite (3.40 on Debian 12) has no percentile aggregate, and ranking the
    rows with window functions instead took twice the time budget."""
    import sqlean  # type: ignore[import-untyped]

    # Read by sqlean when a connection opens; called once (cached), before the first
    # connection. It resets sqlean's other extension flags, which nothing here uses.
    sqlean.extensions.enable("stats")
    return sqlean  # type: ignore[no-any-return]


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; we emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Reports need it; a connection without it should fail here, not in a report.
        cur.execute("SELECT percentile(1, 50)")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE: a transaction that reads and then writes would otherwise fail at once
        # with "database is locked" when another writer committed in between; taking the
        # write lock up front makes it wait (busy_timeout) instead. Transactions are short.
        # Read-only checks ask for AUTOCOMMIT and take no lock at all.
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


def dialect_insert(session: Session, table: Any) -> Insert:
    name = session.get_bind().dialect.name
    module = postgresql if name == "postgresql" else sqlite
    return module.insert(table)  # type: ignore[no-any-return]


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, from the factory create_app put on app.state."""
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
