"""Many rows in one go: executemany on SQLite, one array statement on PostgreSQL.

On SQLite an executemany of a cached statement is the fastest way in (no network, no
parsing per row). On PostgreSQL it is not: SQLAlchemy folds the rows into one huge
multi-row VALUES that psycopg re-parses for every batch, and per-statement triggers
would fire once per row. Instead each column travels as one array parameter and
`unnest` turns the arrays back into rows: a short statement whose text is the same
whatever the batch size, one round trip, and statement triggers fire once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Column, Table, bindparam, func, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Dialect, Row
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from app import pg_arrays
from app.db import dialect_insert


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *,
                conflict: Sequence[str], refresh: Sequence[str] = (),
                touch: Sequence[str] = (),
                returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """INSERT rows; a row clashing on `conflict` is skipped, or, when `refresh` names
    columns, updated with the new row's non-NULL values of those columns.

    Returns the `returning` columns of every row inserted or refreshed. All rows must
    have the same keys; with `refresh`, no two rows may share a `conflict` key.

    With `touch` (columns such as updated_at, set from the new row), a clashing row is
    only written when one of its `refresh` values changes: an unchanged row is left as
    it is, no new row version, and its `returning` columns are still returned.
    """
    if not rows:
        return []
    if touch:
        return _upsert_changed(session, table, rows, tuple(conflict), tuple(refresh),
                               tuple(touch), tuple(returning))
    bind = _connection(session)
    if bind.dialect.name == "postgresql":
        columns, same, params = _insert_params(table, rows, bind.dialect)
        sql = _unnest_insert(table, columns, same, tuple(conflict), tuple(refresh),
                             tuple(returning), bind.dialect)
        result = bind.exec_driver_sql(sql, params)
        return _typed(table, returning, result.all(), bind.dialect) if returning else []
    stmt = dialect_insert(session, table)
    if refresh:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict),
            set_={c: func.coalesce(stmt.excluded[c], table.c[c]) for c in refresh})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    if returning:
        # executemany of one cached statement; SQLAlchemy collects RETURNING per row.
        stmt = stmt.returning(*(table.c[c] for c in returning))
        return [tuple(row) for row in session.execute(stmt, list(rows))]
    session.execute(stmt, list(rows))
    return []


def _upsert_changed(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                    conflict: tuple[str, ...], refresh: tuple[str, ...],
                    touch: tuple[str, ...], returning: tuple[str, ...]) -> list[tuple[Any, ...]]:
    if not refresh or set(touch) & set(refresh):
        raise ValueError("touch needs refresh columns, and no column in both")
    wanted = (*returning, *(c for c in conflict if c not in returning))
    bind = _connection(session)
    if bind.dialect.name == "postgresql":
        columns, same, params = _insert_params(table, rows, bind.dialect)
        sql = _unnest_upsert_changed(table, columns, same, conflict, refresh, touch, wanted,
                                     bind.dialect)
        got = _typed(table, wanted, bind.exec_driver_sql(sql, params).all(), bind.dialect)
    else:
        stmt = dialect_insert(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict),
            set_={**{c: func.coalesce(stmt.excluded[c], table.c[c]) for c in refresh},
                  **{c: stmt.excluded[c] for c in touch}},
            where=or_(*(table.c[c].is_distinct_from(func.coalesce(stmt.excluded[c], table.c[c]))
                        for c in refresh)))
        stmt = stmt.returning(*(table.c[c] for c in wanted))
        got = [tuple(row) for row in session.execute(stmt, list(rows))]
    # On SQLite the unchanged rows; on PostgreSQL only rows another transaction committed
    # while the statement ran (its snapshot cannot see them): read them now. Rows are
    # told apart by their keys as stored, so none comes back twice.
    at = [wanted.index(c) for c in conflict]
    by_key = {tuple(row[i] for i in at): row for row in got}
    missing = [{c: row[c] for c in conflict} for row in rows
               if tuple(row[c] for c in conflict) not in by_key]
    if missing:
        for found in select_rows(session, table, missing, wanted):
            row = tuple(found[c] for c in wanted)
            by_key.setdefault(tuple(row[i] for i in at), row)
    return [row[:len(returning)] for row in by_key.values()]


def update_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *,
                key: str = "id") -> None:
    """UPDATE each row's columns where `key` matches; all rows must have the same keys."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key)
    bind = _connection(session)
    if bind.dialect.name == "postgresql":
        sql = _unnest_update(table, key, columns, bind.dialect)
        with _planned_now(bind):
            bind.exec_driver_sql(sql, _arrays(table, (key, *columns), rows, bind.dialect))
        return
    stmt = (update(table).where(table.c[key] == bindparam("_key"))
            .values({c: bindparam(c) for c in columns}))
    session.execute(stmt, [{**row, "_key": row[key]} for row in rows])


def select_rows(session: Session, table: Table, keys: Sequence[Mapping[str, Any]],
                columns: Sequence[str]) -> list[dict[str, Any]]:
    """The `columns` of every row matching one of `keys` (dicts of column: value, all
    with the same columns; a unique index on them makes this one look-up per key)."""
    if not keys:
        return []
    key_columns = tuple(keys[0])
    bind = _connection(session)
    if bind.dialect.name == "postgresql":
        sql = _unnest_select(table, key_columns, tuple(columns), bind.dialect)
        with _planned_now(bind):
            result = bind.exec_driver_sql(sql, _arrays(table, key_columns, keys, bind.dialect))
        return [dict(zip(columns, row, strict=True))
                for row in _typed(table, columns, result.all(), bind.dialect)]
    found: list[dict[str, Any]] = []
    wanted = [table.c[c] for c in columns]
    for chunk in _chunks(keys, SQLITE_CHUNK // len(key_columns)):
        rows = session.execute(select(*wanted).where(
            tuple_(*(table.c[c] for c in key_columns)).in_(
                [tuple(k[c] for c in key_columns) for k in chunk])))
        found.extend(dict(row._mapping) for row in rows)
    return found


def _connection(session: Session) -> Connection:
    """The session's connection; on PostgreSQL, one that can send pg_arrays' arrays."""
    bind = session.connection()
    if bind.dialect.name == "postgresql" and "pg_arrays" not in bind.info:
        # info lives as long as the DBAPI connection: registered once per connection.
        pg_arrays.register(bind.connection.dbapi_connection)  # type: ignore[arg-type]
        bind.info["pg_arrays"] = True
    return bind


@contextmanager
def _planned_now(bind: Connection) -> Iterator[None]:
    """Run a PostgreSQL join against a growing table unprepared, planned for its size
    now. psycopg prepares a statement run five times, and PostgreSQL then keeps one
    generic plan for it until the next ANALYZE: a plan made while the table was small
    (a hash join over a sequential scan) stays while the table grows, and a join of a
    hundred keys reads the whole table on every batch. Inserts keep their prepared plans:
    they find conflicts through the unique index whatever the size."""
    dbapi = bind.connection.dbapi_connection
    if not isinstance(dbapi, psycopg.Connection) or dbapi.prepare_threshold is None:
        yield
        return
    threshold = dbapi.prepare_threshold
    dbapi.prepare_threshold = None
    try:
        yield
    finally:
        dbapi.prepare_threshold = threshold


# Keeps each statement's bound parameters well under SQLite's limit.
SQLITE_CHUNK = 900


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@lru_cache(maxsize=64)
def _unnest_select(table: Table, keys: tuple[str, ...], columns: tuple[str, ...],
                   dialect: Dialect) -> str:
    """One probe of the unique index per key, whatever the planner knows of the table.

    As a plain join, the planner sized the table from stale or missing statistics and
    chose a hash join over every row under the first key column (9 ms for 100 keys of
    25,000 conversations, against 0.4 ms). The LATERAL subquery with OFFSET 0 cannot be
    flattened into a join, so each key is looked up on its own. Still planned per call:
    on a nearly empty table any index on the first key column looks as good as the
    unique one, and a prepared plan would keep that choice as the table grows."""
    t = table.name
    return (f"SELECT {', '.join(f'k.{c}' for c in columns)} FROM "
            f"{_unnest(table, keys, dialect)} CROSS JOIN LATERAL (SELECT "
            f"{', '.join(columns)} FROM {t} WHERE "
            + " AND ".join(f"{t}.{c} = v.{c}" for c in keys) + " OFFSET 0) k")


def _default(column: Column[Any]) -> Any:
    default = column.default
    if isinstance(default, CallableColumnDefault):
        return default.arg(None)  # type: ignore[call-arg]
    if isinstance(default, ScalarElementColumnDefault):
        return default.arg
    raise ValueError(f"{column.table}.{column.name}: no value given and its default is SQL")


def _insert_params(table: Table, rows: Sequence[Mapping[str, Any]], dialect: Dialect,
                   ) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Any]]:
    """The columns to insert, those of them with one value for the batch, and the
    statement's parameters: an array per varying column, one value per other column.

    A plain statement: the Python-side column defaults Core would fill in are ours."""
    given = tuple(rows[0])
    defaults = {c.name: _default(c) for c in table.columns
                if c.default is not None and c.name not in given}
    same = _same_in_every_row(given, rows)
    params: dict[str, Any] = _arrays(table, [c for c in given if c not in same], rows, dialect)
    params.update(_scalars(table, {**{c: rows[0][c] for c in same}, **defaults}, dialect))
    return (*given, *defaults), (*same, *defaults), params


def _same_in_every_row(columns: Sequence[str],
                       rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Columns with one value for the whole batch (the platform, the arrival time...):
    sent once instead of as an array. At least one column stays an array."""
    first = rows[0]
    return tuple(c for c in columns[1:] if all(row[c] == first[c] for row in rows))


@lru_cache(maxsize=256)
def _unnest_insert(table: Table, columns: tuple[str, ...], same: tuple[str, ...],
                   conflict: tuple[str, ...], refresh: tuple[str, ...],
                   returning: tuple[str, ...], dialect: Dialect) -> str:
    varying = [c for c in columns if c not in same]
    values = ", ".join(f"v.{c}" if c not in same else f"%({c})b::{_sql_type(table, c, dialect)}"
                       for c in columns)
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {values} FROM "
           f"{_unnest(table, varying, dialect)} ON CONFLICT ({', '.join(conflict)}) ")
    if refresh:
        sql += "DO UPDATE SET " + ", ".join(
            f"{c} = coalesce(excluded.{c}, {table.name}.{c})" for c in refresh)
    else:
        sql += "DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(f"{table.name}.{c}" for c in returning)
    return sql


@lru_cache(maxsize=64)
def _unnest_upsert_changed(table: Table, columns: tuple[str, ...], same: tuple[str, ...],
                           conflict: tuple[str, ...], refresh: tuple[str, ...],
                           touch: tuple[str, ...], wanted: tuple[str, ...],
                           dialect: Dialect) -> str:
    """One statement: insert new rows, write clashing rows whose refresh values change,
    and return `wanted` for all of them, the untouched ones read through the unique
    index. The statement gets prepared: OFFSET 0 keeps the LATERAL look-up a subquery
    that is one index probe per key, where a join flattened from it could be cached
    as a scan of every row of the platform, planned while the table was empty."""
    t = table.name

    def value(c: str) -> str:
        return f"%({c})b::{_sql_type(table, c, dialect)}" if c in same else f"v.{c}"

    varying = [c for c in columns if c not in same]
    fresh = [f"coalesce(excluded.{c}, {t}.{c})" for c in refresh]
    upsert = (f"INSERT INTO {t} ({', '.join(columns)}) SELECT "
              f"{', '.join(value(c) for c in columns)} FROM v "
              f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET "
              + ", ".join([*(f"{c} = {e}" for c, e in zip(refresh, fresh, strict=True)),
                           *(f"{c} = excluded.{c}" for c in touch)])
              + f" WHERE ROW({', '.join(f'{t}.{c}' for c in refresh)}) IS DISTINCT FROM "
              f"ROW({', '.join(fresh)}) RETURNING "
              + ", ".join(f"{t}.{c}" for c in wanted))
    kept = [c for c in wanted if c not in conflict]
    return (f"WITH v AS (SELECT * FROM {_unnest(table, varying, dialect)}), w AS ({upsert}) "
            f"SELECT {', '.join(wanted)} FROM w UNION ALL SELECT "
            + ", ".join(f"k.{c}" if c in kept else f"{value(c)} AS {c}" for c in wanted)
            + f" FROM v CROSS JOIN LATERAL (SELECT {', '.join(kept) or '1'} FROM {t} WHERE "
            + " AND ".join(f"{t}.{c} = {value(c)}" for c in conflict)
            + " OFFSET 0) k WHERE NOT EXISTS (SELECT FROM w WHERE "
            + " AND ".join(f"w.{c} = {value(c)}" for c in conflict) + ")")


@lru_cache(maxsize=64)
def _unnest_update(table: Table, key: str, columns: tuple[str, ...],
                   dialect: Dialect) -> str:
    return (f"UPDATE {table.name} SET " + ", ".join(f"{c} = v.{c}" for c in columns)
            + f" FROM {_unnest(table, (key, *columns), dialect)}"
            + f" WHERE {table.name}.{key} = v.{key}")


def _unnest(table: Table, columns: Sequence[str], dialect: Dialect) -> str:
    # %b: arrays go in binary, sparing psycopg the text escaping of every element.
    arrays = ", ".join(f"%({c})b::{_sql_type(table, c, dialect)}[]" for c in columns)
    return f"unnest({arrays}) AS v({', '.join(columns)})"


def _sql_type(table: Table, column: str, dialect: Dialect) -> str:
    return str(table.c[column].type.compile(dialect=dialect))


def _arrays(table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]],
            dialect: Dialect) -> dict[str, Any]:
    """One array parameter per column."""
    arrays: dict[str, Any] = {}
    for c in columns:
        try:
            arrays[c] = _array_of(table, c, dialect)([row[c] for row in rows])
        except (TypeError, ValueError) as e:
            # The plain class: some subclasses (UnicodeEncodeError) take other arguments.
            kind = TypeError if isinstance(e, TypeError) else ValueError
            raise kind(f"{table.name}.{c}: {e}") from e
    return arrays


@lru_cache(maxsize=512)
def _array_of(table: Table, column: str, dialect: Dialect) -> Callable[[list[Any]], Any]:
    """How a column's values become its array parameter: in binary form already where
    pg_arrays knows the type, else a list of values through the type's bind processing."""
    kind = table.c[column].type.dialect_impl(dialect)
    encode = pg_arrays.encoder_for(kind, dialect)
    if encode is not None:
        return encode
    process = _processor(kind, dialect)
    if process is None:
        return lambda values: values
    return lambda values: [process(v) for v in values]


def _scalars(table: Table, row: Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """Single values, each through its type's bind processing."""
    scalars: dict[str, Any] = {}
    for c, v in row.items():
        process = _processor(table.c[c].type.dialect_impl(dialect), dialect)
        scalars[c] = process(v) if process else v
    return scalars


def _typed(table: Table, columns: Sequence[str], rows: Sequence[Row[Any]],
           dialect: Dialect) -> list[tuple[Any, ...]]:
    """Rows as SQLAlchemy would give them: each value through its type's result
    processing (a plain driver statement skips that)."""
    processors = _result_processors(table, tuple(columns), dialect)
    if not any(processors):
        return [tuple(row) for row in rows]
    return [tuple(p(v) if p else v for p, v in zip(processors, row, strict=True))
            for row in rows]


@lru_cache(maxsize=64)
def _result_processors(table: Table, columns: tuple[str, ...],
                       dialect: Dialect) -> list[Callable[[Any], Any] | None]:
    return [table.c[c].type.dialect_impl(dialect).result_processor(dialect, None)
            for c in columns]


def _processor(kind: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    if isinstance(kind, JSON):
        # SQLAlchemy leaves JSON to the driver's wrapper: the same one, for arrays.
        # None is stored as JSON null, as SQLAlchemy does unless none_as_null is set.
        if kind.none_as_null:
            return lambda v: None if v is None else Jsonb(v)
        return Jsonb
    return kind.bind_processor(dialect)  # type: ignore[no-any-return]
