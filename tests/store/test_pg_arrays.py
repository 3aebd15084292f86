"""app.pg_arrays: columns encoded as PostgreSQL binary arrays read back as they went in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, Integer, Numeric, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator
from sqlmodel.sql.sqltypes import AutoString

from app import pg_arrays
from app.bulk import _arrays
from app.db import JSONType, UTCDateTime, make_engine
from app.inbox.models import Message

DIALECT = postgresql.psycopg.dialect()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def conn(fresh_db_url: Callable[[str], str]) -> Iterator[Connection]:
    engine = make_engine(fresh_db_url("postgresql"))
    with engine.connect() as c:
        pg_arrays.register(c.connection.dbapi_connection)  # type: ignore[arg-type]
        yield c
    engine.dispose()


def encode(kind: Any, values: list[Any]) -> pg_arrays.BinaryArray:
    encoder = pg_arrays.encoder_for(kind.dialect_impl(DIALECT), DIALECT)
    assert encoder is not None
    return encoder(values)


def round_trip(conn: Connection, kind: Any, cast: str, values: list[Any]) -> list[Any]:
    sent = encode(kind, values)
    return conn.exec_driver_sql(f"SELECT %(a)b::{cast}[]", {"a": sent}).scalar_one()


CASES = [
    (Integer(), "int4", [1, None, -(2**31), 2**31 - 1, 0]),
    (BigInteger(), "int8", [2**40, None, -1]),
    (Boolean(), "bool", [True, None, False]),
    (String(16), "varchar(16)", ["x", "", None, "Grüße 👋", "a\tb\nc"]),
    (AutoString(), "varchar", ["plain", None]),
]


@pytest.mark.parametrize(("kind", "cast", "values"), CASES, ids=[c[1] for c in CASES])
def test_values_come_back_as_sent(conn: Connection, kind: Any, cast: str,
                                  values: list[Any]) -> None:
    assert round_trip(conn, kind, cast, values) == values


@pytest.mark.parametrize(("kind", "cast", "values"), CASES, ids=[c[1] for c in CASES])
def test_a_column_without_nulls_and_an_empty_one(conn: Connection, kind: Any, cast: str,
                                                 values: list[Any]) -> None:
    present = [v for v in values if v is not None]
    assert round_trip(conn, kind, cast, present) == present
    assert round_trip(conn, kind, cast, []) == []


def test_times_keep_their_instant_whatever_the_offset(conn: Connection) -> None:
    berlin = timezone(timedelta(hours=1))
    values = [datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=berlin), None,
              datetime(1999, 12, 31, 23, 59, 59, 123_456, tzinfo=UTC),
              datetime(2000, 1, 1, tzinfo=UTC)]
    got = round_trip(conn, UTCDateTime(), "timestamptz", values)
    assert got == values
    assert got[0].utcoffset() == timedelta(0)


def test_json_none_is_json_null_unless_the_type_says_sql_null(conn: Connection) -> None:
    payload = {"id": "1", "nested": {"list": [1, 2.5, None, "ü"]}, "ok": True}
    sent = encode(JSONType, [payload, None])
    kinds = conn.exec_driver_sql(
        "SELECT jsonb_typeof(x), x FROM unnest(%(a)b::jsonb[]) WITH ORDINALITY AS t(x, n) "
        "ORDER BY n", {"a": sent}).all()
    assert kinds == [("object", payload), ("null", None)]
    sql_null = encode(JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True),
                                                           "postgresql"), [None])
    assert conn.exec_driver_sql("SELECT (%(a)b::jsonb[])[1] IS NULL",
                                {"a": sql_null}).scalar_one() is True


def test_a_number_for_a_text_column_is_its_text(conn: Connection) -> None:
    assert round_trip(conn, String(16), "varchar(16)", [5, "6"]) == ["5", "6"]


@pytest.mark.parametrize(("kind", "values", "error", "message"), [
    (UTCDateTime(), [datetime(2026, 1, 1)], ValueError, "naive datetime"),
    (Integer(), [2**31], ValueError, "does not fit"),
    (Integer(), ["7"], ValueError, "does not fit"),
    (String(16), [1.5], TypeError, "text column given float"),
    (Boolean(), [1], TypeError, "boolean column given int"),
], ids=["naive time", "int4 overflow", "text for int", "float for text", "int for bool"])
def test_a_value_of_the_wrong_kind_is_refused_before_anything_is_sent(
        kind: Any, values: list[Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        encode(kind, values)


class _Upper(TypeDecorator[str]):
    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return value.upper() if value else value


@pytest.mark.parametrize("kind", [Numeric(), _Upper()], ids=["numeric", "decorator"])
def test_types_it_does_not_know_are_left_to_psycopg(kind: Any) -> None:
    # Numeric has no encoder here; a decorator that rewrites values must keep its
    # bind processing, which the encoders would skip.
    assert pg_arrays.encoder_for(kind.dialect_impl(DIALECT), DIALECT) is None


def test_text_that_utf8_cannot_hold_names_its_column(conn: Connection) -> None:
    table = Message.__table__  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"message\.text: .*surrogates not allowed"):
        _arrays(table, ["text"], [{"text": "half \ud83d"}], conn.dialect)
