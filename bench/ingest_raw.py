"""The baseline: the same rows written with plain DBAPI executemany (sqlean's sqlite3 API, psycopg).

No ORM and no SQLAlchemy Core. Per batch it issues what the real path issues, minus the
lookups: upsert the batch's authors into contact, insert the new conversations, insert
the messages (raw JSON included), update the touched conversations' figures, upsert the
stream's cursor, commit. Ids live in memory (the baseline owns a fresh database), so no
statement needs RETURNING and no conversation is read back: this is the ceiling a
hand-written ingest could reach, which is what the real path is compared with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from bench.ingest_data import ACCOUNTS, StreamBatch
from connectors.base import Author, InboundMessage

CONTACT_FIELDS = ("handle", "name", "avatar_url", "profile_url", "follower_count")
FIGURES = ("status", "snoozed_until", "cycle_started_at", "waiting_since", "first_message_at",
           "last_message_at", "last_inbound_at", "last_outbound_at", "resolved_at",
           "last_message_text", "message_count")

SQL_ACCOUNT = (
    "INSERT INTO account (id, platform, name, external_id, handle, credentials_encrypted,"
    " enabled, needs_reconnect, created_at) VALUES (%s, %s, %s, %s, %s, '', %s, %s, %s)"
)
SQL_CONTACT = (
    "INSERT INTO contact (id, platform, external_id, " + ", ".join(CONTACT_FIELDS)
    + ", created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (platform, external_id) DO UPDATE SET "
    + ", ".join(f"{f} = coalesce(excluded.{f}, contact.{f})" for f in CONTACT_FIELDS)
    + ", updated_at = excluded.updated_at"
    # As the real path: a contact is written again only when its profile changes.
    + " WHERE " + " OR ".join(f"contact.{f} IS DISTINCT FROM coalesce(excluded.{f}, contact.{f})"
                              for f in CONTACT_FIELDS)
)
SQL_CONVERSATION = (
    "INSERT INTO conversation (id, account_id, platform, thread_kind, external_thread_id,"
    " contact_id, status, priority, created_at, updated_at, message_count)"
    " VALUES (%s, %s, %s, %s, %s, %s, 'open', 'normal', %s, %s, 0)"
    " ON CONFLICT (account_id, thread_kind, external_thread_id) DO NOTHING"
)
SQL_MESSAGE = (
    "INSERT INTO message (id, conversation_id, platform, external_id, direction,"
    " author_contact_id, text, created_at, received_at, in_reply_to_external_id, url,"
    " is_automated, is_private, delivery_state, raw)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (platform, external_id) DO NOTHING"
)
SQL_FIGURES = (
    "UPDATE conversation SET " + ", ".join(f"{f} = %s" for f in FIGURES)
    + ", updated_at = %s WHERE id = %s"
)
SQL_CURSOR = (
    "INSERT INTO cursor (account_id, stream, value, updated_at, failures)"
    " VALUES (%s, %s, %s, %s, 0)"
    " ON CONFLICT (account_id, stream) DO UPDATE"
    " SET value = excluded.value, updated_at = excluded.updated_at"
)


@dataclass(frozen=True)
class Dialect:
    """How one driver wants its SQL and values."""

    name: str
    ts: Callable[[datetime | None], Any]
    boolean: Callable[[bool], Any]
    json: Callable[[dict[str, Any]], Any]

    def sql(self, statement: str) -> str:
        return statement.replace("%s", "?") if self.name == "sqlite" else statement


def _sqlite_ts(value: datetime | None) -> str | None:
    # What SQLAlchemy's SQLite DateTime stores for app.db.UTCDateTime: naive UTC text.
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


SQLITE = Dialect("sqlite", ts=_sqlite_ts, boolean=int, json=json.dumps)
POSTGRES = Dialect("postgresql", ts=lambda v: v, boolean=bool, json=Jsonb)


@dataclass
class RawState:
    """What the baseline remembers between batches instead of asking the database."""

    accounts: dict[str, int] = field(default_factory=dict)
    contacts: dict[tuple[str, str], int] = field(default_factory=dict)
    conversations: dict[tuple[int, str, str], int] = field(default_factory=dict)
    figures: dict[int, dict[str, Any]] = field(default_factory=dict)
    last_message_id: int = 0


def sqlite_pragmas(conn: Any) -> None:
    """The pragmas app.db.make_engine sets, so both paths run on the same store settings."""
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000",
                   "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")


def create_accounts(conn: Any, dialect: Dialect, now: datetime) -> RawState:
    state = RawState()
    rows = []
    for number, spec in enumerate(ACCOUNTS.values(), start=1):
        state.accounts[spec.key] = number
        rows.append((number, spec.platform.value, spec.name, spec.external_id, spec.handle,
                     dialect.boolean(True), dialect.boolean(False), dialect.ts(now)))
    _begin(conn, dialect)
    conn.cursor().executemany(dialect.sql(SQL_ACCOUNT), rows)
    _commit(conn, dialect)
    return state


def ingest(conn: Any, dialect: Dialect, state: RawState, batches: Sequence[StreamBatch],
           clock: Callable[[], datetime]) -> int:
    """Write every batch, one transaction each; returns the number of messages written."""
    written = 0
    for batch in batches:
        _begin(conn, dialect)
        written += write_batch(conn.cursor(), dialect, state, batch, clock())
        _commit(conn, dialect)
    return written


def _begin(conn: Any, dialect: Dialect) -> None:
    # sqlite3 runs in autocommit mode (isolation_level=None), like app.db; psycopg opens
    # its transaction on the first statement.
    if dialect.name == "sqlite":
        conn.execute("BEGIN")


def _commit(conn: Any, dialect: Dialect) -> None:
    if dialect.name == "sqlite":
        conn.execute("COMMIT")
    else:
        conn.commit()


def write_batch(cur: Any, d: Dialect, state: RawState, batch: StreamBatch,
                now: datetime) -> int:
    account_id = state.accounts[batch.spec.account]
    messages = list({m.external_id: m for m in batch.messages}.values())
    cur.executemany(d.sql(SQL_CONTACT), _contact_rows(d, state, messages, now))
    new_conversations = _conversation_rows(d, state, account_id, messages, now)
    if new_conversations:
        cur.executemany(d.sql(SQL_CONVERSATION), new_conversations)
    cur.executemany(d.sql(SQL_MESSAGE), _message_rows(d, state, account_id, messages, now))
    cur.executemany(d.sql(SQL_FIGURES), _figure_rows(d, state, account_id, messages, now))
    cur.execute(d.sql(SQL_CURSOR), (account_id, batch.spec.stream, batch.cursor, d.ts(now)))
    return len(messages)


def _contact_rows(d: Dialect, state: RawState, messages: Sequence[InboundMessage],
                  now: datetime) -> list[tuple[Any, ...]]:
    authors: dict[tuple[str, str], Author] = {}
    for m in messages:
        if not m.is_own:
            authors[(m.platform.value, m.author.external_id)] = m.author
    rows = []
    for key, author in sorted(authors.items()):
        contact_id = state.contacts.setdefault(key, len(state.contacts) + 1)
        rows.append((contact_id, key[0], key[1],
                     *(getattr(author, f) for f in CONTACT_FIELDS), d.ts(now), d.ts(now)))
    return rows


def _conversation_rows(d: Dialect, state: RawState, account_id: int,
                       messages: Sequence[InboundMessage], now: datetime) -> list[tuple[Any, ...]]:
    """New conversations, contact = the earliest customer author (as the real path does)."""
    contacts: dict[tuple[int, str, str], int | None] = {}
    for m in sorted(messages, key=lambda m: m.created_at or now):
        key = (account_id, m.thread_kind.value, m.external_thread_id)
        if key in state.conversations:
            continue
        if contacts.get(key) is None:
            contacts[key] = None if m.is_own else state.contacts.get(
                (m.platform.value, m.author.external_id))
    rows = []
    platform = messages[0].platform.value
    for key, contact_id in contacts.items():
        conv_id = state.conversations[key] = len(state.conversations) + 1
        state.figures[conv_id] = dict.fromkeys(FIGURES) | {"status": "open", "message_count": 0}
        rows.append((conv_id, account_id, platform, key[1], key[2], contact_id,
                     d.ts(now), d.ts(now)))
    return rows


def _message_rows(d: Dialect, state: RawState, account_id: int,
                  messages: Sequence[InboundMessage], now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for m in messages:
        state.last_message_id += 1
        conv_id = state.conversations[(account_id, m.thread_kind.value, m.external_thread_id)]
        author = None if m.is_own else state.contacts[(m.platform.value, m.author.external_id)]
        rows.append((
            state.last_message_id, conv_id, m.platform.value, m.external_id,
            "outbound" if m.is_own else "inbound", author, m.text, d.ts(m.created_at or now),
            d.ts(now), m.in_reply_to, m.url, d.boolean(False), d.boolean(False),
            "sent" if m.is_own else None, d.json(m.raw),
        ))
    return rows


def _figure_rows(d: Dialect, state: RawState, account_id: int,
                 messages: Sequence[InboundMessage], now: datetime) -> list[tuple[Any, ...]]:
    touched: dict[int, dict[str, Any]] = {}
    for m in sorted(messages, key=lambda m: m.created_at or now):
        conv_id = state.conversations[(account_id, m.thread_kind.value, m.external_thread_id)]
        touched[conv_id] = figures = state.figures[conv_id]
        _apply(figures, m, m.created_at or now)
    return [
        (*(d.ts(v) if isinstance(v, datetime) else v for v in figures.values()), d.ts(now),
         conv_id)
        for conv_id, figures in touched.items()
    ]


def _apply(figures: dict[str, Any], m: InboundMessage, when: datetime) -> None:
    """The conversation figures of app.ingest.service, for conversations that are open."""
    figures["message_count"] += 1
    if figures["first_message_at"] is None or when < figures["first_message_at"]:
        figures["first_message_at"] = when
    if figures["last_message_at"] is None or when >= figures["last_message_at"]:
        figures["last_message_at"] = when
        figures["last_message_text"] = m.text[:280]
    if m.is_own:
        if figures["last_outbound_at"] is None or when > figures["last_outbound_at"]:
            figures["last_outbound_at"] = when
        if figures["waiting_since"] is not None and when >= figures["waiting_since"]:
            figures["waiting_since"] = None
        return
    if figures["last_inbound_at"] is None or when > figures["last_inbound_at"]:
        figures["last_inbound_at"] = when
    if figures["cycle_started_at"] is None:
        figures["cycle_started_at"] = when
    if figures["waiting_since"] is None and (
        figures["last_outbound_at"] is None or when > figures["last_outbound_at"]
    ):
        figures["waiting_since"] = when
