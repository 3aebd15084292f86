"""Ingest: one batch of normalized messages into the store, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlmodel import Session

from app.accounts.models import Account, Cursor
from app.bulk import insert_rows, select_rows, update_rows
from app.db import utcnow
from app.inbox.models import AuditEvent, Contact, Conversation, Direction, Message, Status
from app.ingest.storable import storable
from connectors.base import Author, InboundMessage


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
    _replayable(session)
    batch = _unique(messages)
    result = IngestResult()
    if batch:
        contact_ids = _upsert_contacts(session, [m for m in batch if not m.is_own], now)
        threads = _threads(batch, now)
        known = _load_conversations(session, account.id, list(threads))
        created = _create_conversations(
            session, account, {k: v for k, v in threads.items() if k not in known},
            contact_ids, now)
        result.new_conversations = len(created)
        # Another worker may have created some in the meantime: read those.
        lost = [k for k in threads if k not in known and k not in created]
        if lost:
            known.update(_load_conversations(session, account.id, lost))
        ids = {key: conv["id"] for key, conv in (known | created).items()}
        inserted = _insert_messages(session, batch, contact_ids, ids, now)
        result.new_messages = len(inserted)
        _update_figures(session, known, created, threads, inserted, now, result)
        result.conversation_ids = {ids[(m.thread_kind.value, m.external_thread_id)]
                                   for _, m in inserted}
    if cursor is not None:
        save_cursor(session, account_id=account.id, stream=stream, value=cursor, now=now)
    return result


def _replayable(session: Session) -> None:
    """On PostgreSQL, commit without waiting for the disk flush.

    Safe because a batch is replayable: messages and cursor commit together, so a
    server crash in the few hundred milliseconds before the flush loses both, and the
    next poll fetches the same messages again from the platform's cursor. Nothing
    else is relaxed: a crash cannot corrupt the database or keep half a batch.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def save_cursor(session: Session, *, account_id: int, stream: str, value: str,
                now: datetime | None = None) -> None:
    """Upsert a stream's cursor."""
    insert_rows(session, Cursor.__table__,  # type: ignore[attr-defined]
                [{"account_id": account_id, "stream": stream, "value": value,
                  "updated_at": now or utcnow()}],
                conflict=["account_id", "stream"], refresh=["value", "updated_at"])


def get_cursor(session: Session, *, account_id: int, stream: str) -> str | None:
    return session.scalar(
        select(Cursor.value).where(Cursor.account_id == account_id, Cursor.stream == stream)
    )


def _unique(messages: Iterable[InboundMessage]) -> list[InboundMessage]:
    """The batch without repeats, each message made storable (see storable.py)."""
    seen: dict[str, InboundMessage] = {}
    for m in messages:
        seen.setdefault(m.external_id, m)
    return [storable(m) for m in seen.values()]


def _upsert_contacts(session: Session, messages: Sequence[InboundMessage],
                     now: datetime) -> dict[tuple[str, str], int]:
    authors: dict[tuple[str, str], Author] = {}
    for m in messages:
        authors[(m.platform.value, m.author.external_id)] = m.author
    if not authors:
        return {}
    table = Contact.__table__  # type: ignore[attr-defined]
    rows = [
        {"platform": p, "external_id": a.external_id, "created_at": now, "updated_at": now,
         **{f: getattr(a, f) for f in PROFILE}}
        for (p, _), a in sorted(authors.items())
    ]
    # A profile field the platform left out this time keeps its known value.
    stored = insert_rows(session, table, rows, conflict=["platform", "external_id"],
                         refresh=PROFILE, touch=["updated_at"],
                         returning=["id", "platform", "external_id"])
    return {(platform, ext): cid for cid, platform, ext in stored}


PROFILE = ("handle", "name", "avatar_url", "profile_url", "follower_count")


Thread = tuple[str, str]  # (thread kind, external thread id)


def _threads(batch: Sequence[InboundMessage], now: datetime) -> dict[Thread, list[InboundMessage]]:
    """The batch's messages per thread, oldest first (batch order among equal times)."""
    threads: dict[Thread, list[InboundMessage]] = {}
    for m in sorted(batch, key=lambda m: _when(m, now)):
        threads.setdefault((m.thread_kind.value, m.external_thread_id), []).append(m)
    return threads


def _create_conversations(session: Session, account: Account,
                          threads: dict[Thread, list[InboundMessage]],
                          contact_ids: dict[tuple[str, str], int],
                          now: datetime) -> dict[Thread, dict[str, Any]]:
    """Insert the new threads with their figures already counted from the batch (one
    write per row instead of an insert and an update); returns those this call made."""
    if not threads:
        return {}
    rows = []
    for (kind, ext), thread in threads.items():
        customer = next((m for m in thread if not m.is_own), None)
        state = _fresh()
        _fold(state, thread, now)
        rows.append({"account_id": account.id, "platform": account.platform,
                     "thread_kind": kind, "external_thread_id": ext,
                     "contact_id": customer and contact_ids.get(
                         (customer.platform.value, customer.author.external_id)),
                     "priority": "normal", "created_at": now, "updated_at": now, **state})
    table = Conversation.__table__  # type: ignore[attr-defined]
    created = insert_rows(
        session, table, rows, conflict=["account_id", "thread_kind", "external_thread_id"],
        returning=["id", "thread_kind", "external_thread_id"])
    return {(kind, ext): {"id": cid} for cid, kind, ext in created}


def _fresh() -> dict[str, Any]:
    state = dict.fromkeys(FIGURES)
    state.update(status=Status.OPEN.value, message_count=0)
    return state


def _load_conversations(session: Session, account_id: int | None,
                        keys: Sequence[Thread]) -> dict[Thread, dict[str, Any]]:
    wanted = [{"account_id": account_id, "thread_kind": kind, "external_thread_id": ext}
              for kind, ext in keys]
    rows = select_rows(session, Conversation.__table__,  # type: ignore[attr-defined]
                       wanted, ["id", "thread_kind", "external_thread_id", *FIGURES])
    found: dict[Thread, dict[str, Any]] = {}
    for row in rows:
        found[(row["thread_kind"], row["external_thread_id"])] = {
            "id": row["id"], **{f: row[f] for f in FIGURES}}
    return found


def _when(m: InboundMessage, now: datetime) -> datetime:
    """When the message was written: the platform's time, but never after we received it
    (a platform clock ahead of ours would start waits in the future; raw keeps its time)."""
    return min(m.created_at, now) if m.created_at else now


def _insert_messages(session: Session, batch: Sequence[InboundMessage],
                     contact_ids: dict[tuple[str, str], int], conversation_ids: dict[Thread, int],
                     now: datetime) -> list[tuple[int, InboundMessage]]:
    by_external = {m.external_id: m for m in batch}
    rows = []
    for m in batch:
        rows.append({
            "conversation_id": conversation_ids[(m.thread_kind.value, m.external_thread_id)],
            "platform": m.platform.value,
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
    returned = insert_rows(session, table, rows, conflict=["platform", "external_id"],
                           returning=["id", "external_id"])
    return [(mid, by_external[ext]) for mid, ext in returned]


def _update_figures(session: Session, known: dict[Thread, dict[str, Any]],
                    created: dict[Thread, dict[str, Any]],
                    threads: dict[Thread, list[InboundMessage]],
                    inserted: list[tuple[int, InboundMessage]], now: datetime,
                    result: IngestResult) -> None:
    stored: dict[Thread, list[InboundMessage]] = {}
    for _, m in sorted(inserted, key=lambda pair: (_when(pair[1], now), pair[0])):
        stored.setdefault((m.thread_kind.value, m.external_thread_id), []).append(m)
    changed: dict[int, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    for key, messages in stored.items():
        if key in known:
            conv = known[key]
            state = {f: conv[f] for f in FIGURES}
            if _fold(state, messages, now):
                events.append({"conversation_id": conv["id"], "action": "reopened",
                               "details": {"by": "customer message"}, "created_at": now})
            changed[conv["id"]] = state
    empty: list[int] = []
    for key, conv in created.items():
        # Counted at creation from every message of the batch; recount when some of
        # them were already stored (under another thread) and so were not inserted.
        if key not in stored:
            empty.append(conv["id"])  # all of them were: a thread of nothing
        elif len(stored[key]) != len(threads[key]):
            state = _fresh()
            _fold(state, stored[key], now)
            changed[conv["id"]] = state
    for state in changed.values():
        state["updated_at"] = now
    result.reopened = len(events)
    if empty:
        # Made by this transaction, so nothing else refers to them yet.
        table = Conversation.__table__  # type: ignore[attr-defined]
        session.execute(delete(table).where(table.c.id.in_(empty)))
        result.new_conversations -= len(empty)
    if changed:
        update_rows(session, Conversation.__table__,  # type: ignore[attr-defined]
                    [{"id": cid, **state} for cid, state in changed.items()])
        # Conversations this session already holds must not keep their old figures.
        session.expire_all()
    if events:
        session.execute(AuditEvent.__table__.insert(), events)  # type: ignore[attr-defined]


def _fold(state: dict[str, Any], messages: Sequence[InboundMessage], now: datetime) -> bool:
    """Count messages (oldest first) into a conversation's figures; True if it reopened."""
    reopened = False
    for m in messages:
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
            reopened = True
    return reopened


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
