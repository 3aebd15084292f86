"""Ingest: one batch of normalized messages into the store, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from app.accounts.models import Account, Cursor
from app.db import dialect_insert, insert_ignore, utcnow
from app.inbox.models import AuditEvent, Contact, Conversation, Direction, Message, Status
from connectors.base import Author, InboundMessage

# Keeps each statement's bound parameters well under SQLite's limit.
CHUNK = 400


@dataclass
class IngestResult:
    new_messages: int = 0
    new_conversations: int = 0
    reopened: int = 0
    conversation_ids: set[int] = field(default_factory=set)


def ingest_batch(session: Session, *, account: Account, stream: str,
                 messages: Sequence[InboundMessage], cursor: str | None,
                 now: datetime | None = None) -> IngestResult:
    """Store a batch and advance the stream's cursor; the caller commits once for both."""
    assert account.id is not None
    now = now or utcnow()
    batch = _unique(messages)
    result = IngestResult()
    if batch:
        contact_ids = _upsert_contacts(session, [m for m in batch if not m.is_own], now)
        conversations = _conversations(session, account, batch, contact_ids, now, result)
        inserted = _insert_messages(session, account, batch, contact_ids, conversations, now)
        result.new_messages = len(inserted)
        _update_figures(session, conversations, inserted, now, result)
    if cursor is not None:
        save_cursor(session, account_id=account.id, stream=stream, value=cursor, now=now)
    return result


def save_cursor(session: Session, *, account_id: int, stream: str, value: str,
                now: datetime | None = None) -> None:
    """Upsert a stream's cursor."""
    now = now or utcnow()
    stmt = dialect_insert(session, Cursor).values(
        account_id=account_id, stream=stream, value=value, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "stream"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )
    session.execute(stmt)


def get_cursor(session: Session, *, account_id: int, stream: str) -> str | None:
    return session.scalar(
        select(Cursor.value).where(Cursor.account_id == account_id, Cursor.stream == stream)
    )


def _unique(messages: Iterable[InboundMessage]) -> list[InboundMessage]:
    seen: dict[str, InboundMessage] = {}
    for m in messages:
        seen.setdefault(m.external_id, m)
    return list(seen.values())


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _upsert_contacts(session: Session, messages: Sequence[InboundMessage],
                     now: datetime) -> dict[tuple[str, str], int]:
    authors: dict[tuple[str, str], Author] = {}
    for m in messages:
        authors[(m.platform.value, m.author.external_id)] = m.author
    if not authors:
        return {}
    table = Contact.__table__  # type: ignore[attr-defined]
    fields = ("handle", "name", "avatar_url", "profile_url", "follower_count")
    rows = [
        {"platform": p, "external_id": a.external_id, "created_at": now, "updated_at": now,
         **{f: getattr(a, f) for f in fields}}
        for (p, _), a in sorted(authors.items())
    ]
    stmt = dialect_insert(session, table)
    # A profile field the platform left out this time keeps its known value.
    stmt = stmt.on_conflict_do_update(
        index_elements=["platform", "external_id"],
        set_={f: func.coalesce(stmt.excluded[f], table.c[f]) for f in fields}
        | {"updated_at": stmt.excluded.updated_at},
    ).returning(table.c.id, table.c.platform, table.c.external_id)
    # executemany: one cached statement, whatever the batch size.
    return {(platform, ext): cid for cid, platform, ext in session.execute(stmt, rows)}


def _conversations(session: Session, account: Account, batch: Sequence[InboundMessage],
                   contact_ids: dict[tuple[str, str], int], now: datetime,
                   result: IngestResult) -> dict[tuple[str, str], dict[str, Any]]:
    """Each thread of the batch as {id, figures...}, created when new."""
    keys: dict[tuple[str, str], int | None] = {}
    for m in sorted(batch, key=lambda m: _when(m, now)):
        key = (m.thread_kind.value, m.external_thread_id)
        contact = None if m.is_own else contact_ids.get((m.platform.value, m.author.external_id))
        if keys.get(key) is None:
            keys[key] = contact
    found = _load_conversations(session, account.id, keys)
    missing = [k for k in keys if k not in found]
    if missing:
        rows = [
            {"account_id": account.id, "platform": account.platform, "thread_kind": kind,
             "external_thread_id": ext, "contact_id": keys[(kind, ext)],
             "status": Status.OPEN.value, "priority": "normal", "created_at": now,
             "updated_at": now, "message_count": 0}
            for kind, ext in missing
        ]
        table = Conversation.__table__  # type: ignore[attr-defined]
        created = insert_ignore(
            session, table, rows, ["account_id", "thread_kind", "external_thread_id"],
            returning=[table.c.id, table.c.thread_kind, table.c.external_thread_id])
        result.new_conversations += len(created)
        fresh = dict.fromkeys(FIGURES)
        fresh.update(status=Status.OPEN.value, message_count=0)
        for cid, kind, ext in created:
            found[(kind, ext)] = {"id": cid, **fresh}
        # Another worker may have created some in the meantime: read those.
        lost = [k for k in missing if k not in found]
        if lost:
            found.update(_load_conversations(session, account.id, dict.fromkeys(lost)))
    return found


def _load_conversations(session: Session, account_id: int | None,
                        keys: dict[tuple[str, str], Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    kinds = sorted({kind for kind, _ in keys})
    thread_ids = sorted({ext for _, ext in keys})
    columns = [Conversation.id, Conversation.thread_kind, Conversation.external_thread_id,
               *(getattr(Conversation, f) for f in FIGURES)]
    for chunk in _chunks(thread_ids):
        # account_id + thread_kind + external_thread_id: the unique index answers it.
        rows = session.execute(
            select(*columns).where(Conversation.account_id == account_id,
                                   Conversation.thread_kind.in_(kinds),  # type: ignore[attr-defined]
                                   Conversation.external_thread_id.in_(chunk))  # type: ignore[attr-defined]
        ).mappings()
        for row in rows:
            key = (row["thread_kind"], row["external_thread_id"])
            if key in keys:
                found[key] = {"id": row["id"], **{f: row[f] for f in FIGURES}}
    return found


def _when(m: InboundMessage, now: datetime) -> datetime:
    return m.created_at or now


def _insert_messages(session: Session, account: Account, batch: Sequence[InboundMessage],
                     contact_ids: dict[tuple[str, str], int],
                     conversations: dict[tuple[str, str], dict[str, Any]],
                     now: datetime) -> list[tuple[int, InboundMessage]]:
    by_external = {m.external_id: m for m in batch}
    rows = []
    for m in batch:
        conv = conversations[(m.thread_kind.value, m.external_thread_id)]
        rows.append({
            "conversation_id": conv["id"], "platform": m.platform.value,
            "external_id": m.external_id,
            "direction": (Direction.OUTBOUND if m.is_own else Direction.INBOUND).value,
            "author_contact_id": None if m.is_own
            else contact_ids.get((m.platform.value, m.author.external_id)),
            "text": m.text, "created_at": _when(m, now), "received_at": now,
            "in_reply_to_external_id": m.in_reply_to, "url": m.url,
            "is_automated": False, "is_private": False,
            "delivery_state": "sent" if m.is_own else None, "raw": m.raw,
        })
    table = Message.__table__  # type: ignore[attr-defined]
    returned = insert_ignore(session, table, rows, ["platform", "external_id"],
                             returning=[table.c.id, table.c.external_id])
    return [(mid, by_external[ext]) for mid, ext in returned]


def _update_figures(session: Session, conversations: dict[tuple[str, str], dict[str, Any]],
                    inserted: list[tuple[int, InboundMessage]], now: datetime,
                    result: IngestResult) -> None:
    changed: dict[int, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    for _, m in sorted(inserted, key=lambda pair: (_when(pair[1], now), pair[0])):
        conv = conversations[(m.thread_kind.value, m.external_thread_id)]
        state = changed.setdefault(conv["id"], {f: conv[f] for f in FIGURES})
        when = _when(m, now)
        state["message_count"] += 1
        if state["first_message_at"] is None or when < state["first_message_at"]:
            state["first_message_at"] = when
        if state["last_message_at"] is None or when >= state["last_message_at"]:
            state["last_message_at"] = when
            state["last_message_text"] = m.text[:280]
        if m.is_own:
            _apply_outbound(state, when)
        elif _apply_inbound(state, when):
            events.append({"conversation_id": conv["id"], "action": "reopened",
                           "details": {"by": "customer message"}, "created_at": now})
    for state in changed.values():
        state["updated_at"] = now
    result.reopened = len(events)
    if changed:
        session.execute(update(Conversation),  # type: ignore[arg-type]
                        [{"id": cid, **state} for cid, state in changed.items()])
        session.expire_all()
    if events:
        session.execute(AuditEvent.__table__.insert(), events)  # type: ignore[attr-defined]
    result.conversation_ids = set(changed)


FIGURES = ("status", "snoozed_until", "cycle_started_at", "waiting_since", "first_message_at",
           "last_message_at", "last_inbound_at", "last_outbound_at", "resolved_at",
           "last_message_text", "message_count")


def _apply_inbound(state: dict[str, Any], when: datetime) -> bool:
    """A customer message: reopen, wake, start waiting. True when it reopened."""
    if state["last_inbound_at"] is None or when > state["last_inbound_at"]:
        state["last_inbound_at"] = when
    if state["status"] == Status.RESOLVED:
        if state["resolved_at"] is not None and when <= state["resolved_at"]:
            return False  # a late copy of something from before the resolution
        state.update(status=Status.OPEN.value, resolved_at=None, cycle_started_at=when,
                     waiting_since=when)
        return True
    if state["status"] == Status.SNOOZED:
        state.update(status=Status.OPEN.value, snoozed_until=None)
    if state["cycle_started_at"] is None:
        state["cycle_started_at"] = when
    if state["waiting_since"] is None and (
        state["last_outbound_at"] is None or when > state["last_outbound_at"]
    ):
        state["waiting_since"] = when
    return False


def _apply_outbound(state: dict[str, Any], when: datetime) -> None:
    """Our own message (from Switchboard or the platform's app): answers what came before."""
    if state["last_outbound_at"] is None or when > state["last_outbound_at"]:
        state["last_outbound_at"] = when
    if state["waiting_since"] is not None and when >= state["waiting_since"]:
        state["waiting_since"] = None
