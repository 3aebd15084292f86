"""app.bulk on both stores: the array statements of PostgreSQL and SQLite's executemany
must store and return the same things."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app import bulk, migrate
from app.accounts.models import Cursor
from app.bulk import (
    _arrays,
    _insert_params,
    _unnest_select,
    _unnest_upsert_changed,
    insert_rows,
    select_rows,
    update_rows,
)
from app.db import make_engine
from app.inbox.models import Contact, Conversation
from tests import factories as f

CONTACTS = Contact.__table__  # type: ignore[attr-defined]
CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]
WHEN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def contact_row(ext: str, handle: str | None, name: str | None = "Jane") -> dict[str, object]:
    return {"platform": "x", "external_id": ext, "handle": handle, "name": name,
            "created_at": WHEN, "updated_at": WHEN}


def test_insert_skips_or_refreshes_clashing_rows_and_returns_what_it_wrote(
        session: Session) -> None:
    first = insert_rows(session, CONTACTS, [contact_row("1", "jane"), contact_row("2", "bob")],
                        conflict=["platform", "external_id"], returning=["id", "external_id"])
    assert sorted(ext for _, ext in first) == ["1", "2"]

    skipped = insert_rows(session, CONTACTS, [contact_row("1", "other")],
                          conflict=["platform", "external_id"], returning=["id"])
    assert skipped == []

    # refresh: new non-NULL values win, NULL keeps what is stored.
    refreshed = insert_rows(session, CONTACTS, [contact_row("1", None, "Jane D."),
                                                contact_row("3", "carol", None)],
                            conflict=["platform", "external_id"],
                            refresh=["handle", "name"], returning=["id", "external_id"])
    assert sorted(ext for _, ext in refreshed) == ["1", "3"]
    session.expire_all()
    stored = {c.external_id: (c.handle, c.name) for c in session.scalars(select(Contact))}
    assert stored == {"1": ("jane", "Jane D."), "2": ("bob", "Jane"), "3": ("carol", None)}
    ids = dict((ext, cid) for cid, ext in first)
    assert dict((ext, cid) for cid, ext in refreshed)["1"] == ids["1"]


def test_touch_rewrites_only_rows_whose_values_change_and_returns_every_row(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    first = insert_rows(session, CONTACTS, [contact_row("1", "jane"), contact_row("2", "bob"),
                                            contact_row("3", "carol")],
                        conflict=["platform", "external_id"], returning=["id", "external_id"])
    ids = {ext: cid for cid, ext in first}
    versions = _row_versions(session)
    later = datetime(2026, 11, 3, tzinfo=UTC)

    def at_later(ext: str, handle: str | None) -> dict[str, object]:
        return {**contact_row(ext, handle), "updated_at": later}

    if versions:
        # PostgreSQL returns the untouched rows from the one statement: reading them
        # again afterwards is only for rows another transaction committed meanwhile.
        def no_second_read(*args: object, **kwargs: object) -> None:
            raise AssertionError("the statement left rows out")
        monkeypatch.setattr(bulk, "select_rows", no_second_read)

    # 1: same values; 2: a new handle; 3: handle left out (keeps "carol"); 4: new.
    got = insert_rows(session, CONTACTS, [at_later("1", "jane"), at_later("2", "bobby"),
                                          at_later("3", None), at_later("4", "dan")],
                      conflict=["platform", "external_id"],
                      refresh=["handle", "name"], touch=["updated_at"],
                      returning=["id", "external_id"])

    assert sorted(got, key=lambda row: row[1]) == [
        (ids["1"], "1"), (ids["2"], "2"), (ids["3"], "3"), (got_id(got, "4"), "4")]
    assert got_id(got, "4") not in ids.values()
    session.expire_all()
    stored = {c.external_id: (c.handle, c.updated_at) for c in session.scalars(select(Contact))}
    assert stored == {"1": ("jane", WHEN), "2": ("bobby", later), "3": ("carol", WHEN),
                      "4": ("dan", later)}
    if versions:  # PostgreSQL: the unchanged rows were not written again
        now = _row_versions(session)
        assert [now[e] == versions[e] for e in ("1", "2", "3")] == [True, False, True]


def test_touch_returns_each_row_once_and_refuses_unclear_columns(session: Session) -> None:
    insert_rows(session, CONTACTS, [contact_row("5", "eve")],
                conflict=["platform", "external_id"])
    # A key given as a number for a text column is stored as text: still one row back.
    got = insert_rows(session, CONTACTS, [{**contact_row("5", "eve"), "external_id": 5}],
                      conflict=["platform", "external_id"], refresh=["handle"],
                      touch=["updated_at"], returning=["id"])
    assert len(got) == 1
    for refresh, touch in (((), ("updated_at",)), (("handle",), ("handle",))):
        with pytest.raises(ValueError, match="touch"):
            insert_rows(session, CONTACTS, [contact_row("6", "x")],
                        conflict=["platform", "external_id"], refresh=refresh, touch=touch)


def got_id(rows: list[tuple[object, ...]], ext: str) -> object:
    return next(cid for cid, e in rows if e == ext)


def _row_versions(session: Session) -> dict[str, str]:
    """Where each contact's row version lies (ctid) on PostgreSQL; {} on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return {}
    rows = session.connection().exec_driver_sql("SELECT external_id, ctid::text FROM contact")
    return dict(rows.all())


def test_columns_left_out_take_their_model_defaults(session: Session) -> None:
    acc = f.account(session)
    insert_rows(session, Cursor.__table__,  # type: ignore[attr-defined]
                [{"account_id": acc.id, "stream": "dms", "value": "e1"}],
                conflict=["account_id", "stream"])
    cursor = session.scalars(select(Cursor).where(Cursor.stream == "dms")).one()
    assert cursor.failures == 0
    assert cursor.updated_at is not None and cursor.updated_at.tzinfo is not None


def test_update_and_select_by_key(session: Session) -> None:
    made = insert_rows(session, CONTACTS, [contact_row(str(i), f"h{i}") for i in range(5)],
                       conflict=["platform", "external_id"], returning=["id", "external_id"])
    ids = {ext: cid for cid, ext in made}
    later = datetime(2026, 11, 3, tzinfo=UTC)
    update_rows(session, CONTACTS, [{"id": ids["1"], "handle": "new1", "updated_at": later},
                                    {"id": ids["3"], "handle": None, "updated_at": later}])

    found = select_rows(session, CONTACTS,
                        [{"platform": "x", "external_id": e} for e in ("1", "3", "4", "nope")],
                        ["external_id", "handle", "updated_at"])
    assert sorted((r["external_id"], r["handle"], r["updated_at"]) for r in found) == [
        ("1", "new1", later), ("3", None, later), ("4", "h4", WHEN)]
    assert all(r["updated_at"].tzinfo is not None for r in found)


def test_postgresql_plans_key_joins_on_every_call_and_keeps_inserts_prepared(
        fresh_db_url: Callable[[str], str]) -> None:
    """A join against a growing table must not keep the generic plan PostgreSQL made
    while the table was small; inserts keep their prepared statements. (PostgreSQL
    only: SQLite plans every statement anew.)"""
    url = fresh_db_url("postgresql")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for i in range(8):  # psycopg prepares a statement run five times
                made = insert_rows(session, CONTACTS, [contact_row(f"p{i}", "h")],
                                   conflict=["platform", "external_id"], returning=["id"])
                update_rows(session, CONTACTS, [{"id": made[0][0], "handle": f"h{i}"}])
                select_rows(session, CONTACTS, [{"platform": "x", "external_id": f"p{i}"}],
                            ["id"])
            prepared = session.connection().exec_driver_sql(
                "SELECT statement FROM pg_prepared_statements").scalars().all()
            assert [s for s in prepared if s.startswith("INSERT INTO contact")]
            assert not [s for s in prepared if s.startswith(("UPDATE", "SELECT contact"))]
            dbapi = session.connection().connection.dbapi_connection
            assert dbapi is not None and dbapi.prepare_threshold == 5  # restored after each
    finally:
        engine.dispose()


def test_postgresql_keeps_the_untouched_row_look_up_an_index_probe_in_a_cached_plan(
        fresh_db_url: Callable[[str], str]) -> None:
    """The touch statement is prepared after five runs; a generic plan made while the
    table was empty must still find each untouched row through the unique index, not
    read every contact of the platform."""
    url = fresh_db_url("postgresql")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            # The platform, one for the batch, goes as a single value: the shape whose
            # flattened join PostgreSQL planned as a scan of the whole platform.
            rows = [{"external_id": e, **contact_row(e, "h")} for e in ("1", "2")]
            bind = session.connection()
            columns, same, params = _insert_params(CONTACTS, rows, bind.dialect)
            sql = _unnest_upsert_changed(CONTACTS, columns, same, ("platform", "external_id"),
                                         ("handle", "name"), ("updated_at",),
                                         ("id", "platform", "external_id"), bind.dialect)
            # As psycopg prepares it: numbered parameters, typed by the statement's casts.
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)b", sql)))
            for number, name in enumerate(names, start=1):
                sql = sql.replace(f"%({name})b", f"${number}")
            bind.exec_driver_sql(f"PREPARE touch_plan AS {sql}")
            bind.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            # The arrays travel in binary: write the rows' values out instead.
            args = ", ".join(_literal(params[name] if name in same
                                      else [row[name] for row in rows]) for name in names)
            plan = "\n".join(bind.exec_driver_sql(
                f"EXPLAIN EXECUTE touch_plan({args})").scalars())
            assert re.search(r"\$\d", plan), plan  # generic: parameters stay unknown
            probes = [line for line in plan.splitlines() if "Index Cond" in line
                      and "external_id" in line and "platform" in line]
            assert probes, plan
            session.rollback()
    finally:
        engine.dispose()


def _literal(value: object) -> str:
    """A quoted SQL literal of this test's simple values (text, times, lists of text)."""
    if isinstance(value, list):
        return "'{" + ",".join(str(v) for v in value) + "}'"
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    return f"'{value}'"


def test_postgresql_looks_each_key_up_in_the_unique_index_whatever_the_statistics(
        fresh_db_url: Callable[[str], str]) -> None:
    """select_rows must probe the unique index once per key. As a plain join, stale or
    missing statistics made PostgreSQL hash every conversation of the account instead
    (9 ms against 0.4 for 100 keys of 25,000). With joins other than nested loops
    priced out, the plain join turns into one; the per-key look-up has no other plan.
    (Which index it probes is the planner's choice by size: on a table of a few thousand
    rows without statistics, the account's index looks as cheap as the unique one.)"""
    url = fresh_db_url("postgresql")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            acc = f.account(session)
            rows = [{"account_id": acc.id, "platform": "x", "thread_kind": "x_mention",
                     "external_thread_id": f"t{i}", "status": "open", "priority": "normal",
                     "message_count": 0, "created_at": WHEN, "updated_at": WHEN}
                    for i in range(20_000)]
            insert_rows(session, CONVERSATIONS, rows,
                        conflict=["account_id", "thread_kind", "external_thread_id"])
            bind = session.connection()
            bind.exec_driver_sql("SET LOCAL enable_nestloop = off")
            keys = [{"account_id": acc.id, "thread_kind": "x_mention",
                     "external_thread_id": f"t{i}"} for i in (5, 700, 19_999)] + [
                {"account_id": acc.id, "thread_kind": "x_mention", "external_thread_id": "none"}]
            sql = _unnest_select(CONVERSATIONS, tuple(keys[0]), ("id", "external_thread_id"),
                                 bind.dialect)
            plan = "\n".join(bind.exec_driver_sql(
                f"EXPLAIN {sql}", _arrays(CONVERSATIONS, tuple(keys[0]), keys,
                                          bind.dialect)).scalars())
            assert "Hash Join" not in plan and "Merge Join" not in plan, plan
            probe = [line for line in plan.splitlines() if "Index Cond" in line]
            assert probe and "external_thread_id" in probe[0], plan
            found = select_rows(session, CONVERSATIONS, keys, ["external_thread_id"])
            assert sorted(r["external_thread_id"] for r in found) == ["t19999", "t5", "t700"]
            session.rollback()
    finally:
        engine.dispose()


def test_a_bad_value_is_refused_naming_its_column_and_nothing_is_written(
        session: Session) -> None:
    good = [contact_row(str(n), f"h{n}") for n in range(3)]
    bad = {**contact_row("9", "h9"), "created_at": datetime(2026, 11, 2, 9, 0)}
    with pytest.raises(Exception, match="naive datetime") as raised:
        insert_rows(session, CONTACTS, [*good, bad], conflict=["platform", "external_id"])
    if session.get_bind().dialect.name == "postgresql":
        # Refused before anything is sent, with the column it was for.
        assert isinstance(raised.value, ValueError)
        assert "contact.created_at" in str(raised.value)
    session.rollback()
    assert session.scalar(select(Contact.id).where(Contact.external_id.in_(  # type: ignore[attr-defined]
        ["0", "1", "2", "9"]))) is None


def test_a_number_too_big_for_its_column_names_the_column_on_postgresql(
        session: Session) -> None:
    rows = [{**contact_row(str(n), f"h{n}"), "follower_count": n} for n in range(3)]
    rows[2]["follower_count"] = 2**31
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's integers are 64 bits wide: stored as given.
        insert_rows(session, CONTACTS, rows, conflict=["platform", "external_id"])
        assert session.scalar(select(Contact.follower_count).where(
            Contact.external_id == "2")) == 2**31
        return
    with pytest.raises(ValueError, match=r"contact\.follower_count: .*does not fit"):
        insert_rows(session, CONTACTS, rows, conflict=["platform", "external_id"])
