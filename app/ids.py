"""Ids that arrive as text (query strings, form fields)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.errors import Invalid

MAX_ID = 2**31 - 1  # ids are 32-bit integers in both stores


def parsed_id(raw: str) -> int | None:
    """The id `raw` spells, or None: ASCII digits only (str.isdigit also takes "²" and
    other scripts' digits) and within the stores' integers (a bigger one fails in the
    driver, differently on each store)."""
    raw = raw.strip()
    if raw.isascii() and raw.isdecimal() and int(raw) <= MAX_ID:
        return int(raw)
    return None


def optional_id(raw: str | None, name: str) -> int | None:
    """An optional id field: None when empty, else the id, or a clear error."""
    if not raw:
        return None
    number = parsed_id(raw)
    if number is None:
        raise Invalid(f"{name} must be the number of an existing {name}")
    return number


# Route parameters: FastAPI refuses a bigger number (422) before any store sees it.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
