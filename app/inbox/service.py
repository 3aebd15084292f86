"""Reading the inbox: conversation lists (keyset pages) and one conversation's thread."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.sql import Select, operators
from sqlalchemy.sql.elements import BooleanClauseList
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from app.errors import Invalid, NotFound
from app.ids import MAX_ID
from app.inbox.models import Contact, Conversation, ConversationTag, Message, Status

MAX_LIMIT = 200


class Sort(StrEnum):
    WAITING = "waiting"  # longest waiting first, then the answered ones, newest first
    NEWEST = "newest"
    ESCALATED = "escalated"  # oldest escalation first


@dataclass(frozen=True)
class ConversationFilter:
    status: str | None = None
    account_id: int | None = None
    platform: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    tag_id: int | None = None
    priority: str | None = None
    escalated: bool = False
    q: str | None = None


@dataclass
class Page:
    items: list[tuple[Conversation, Contact | None, Account]]
    next_cursor: str | None


# A keyset run: (key column, ascending?, extra condition). WAITING reads run 0 then run 1.
def _runs() -> dict[int, tuple[Any, bool, Any]]:
    return {
        0: (Conversation.waiting_since, True, Conversation.waiting_since.is_not(None)),  # type: ignore[union-attr]
        1: (Conversation.last_message_at, False, Conversation.waiting_since.is_(None)),  # type: ignore[union-attr]
        2: (Conversation.last_message_at, False, None),
        3: (Conversation.escalated_at, True, Conversation.escalated_at.is_not(None)),  # type: ignore[union-attr]
    }


SORT_RUNS = {Sort.WAITING: (0, 1), Sort.NEWEST: (2,), Sort.ESCALATED: (3,)}


def list_conversations(session: Session, *, filters: ConversationFilter,
                       sort: Sort = Sort.WAITING, limit: int = 50,
                       cursor: str | None = None) -> Page:
    """One page of conversations; pass `next_cursor` back for the next page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    if filters.status is not None and filters.status not in {s.value for s in Status}:
        raise Invalid(f"unknown status {filters.status!r}")
    runs = SORT_RUNS[sort]
    phase, after = _decode(cursor) if cursor else (runs[0], None)
    if phase not in runs:
        raise Invalid("cursor belongs to another sort order")
    base = _filtered(session, filters, rows=False)
    if filters.q and session.get_bind().dialect.name == "postgresql":
        # A search reads few rows; starting parallel workers costs more than it saves
        # (bench/inbox.py: 8-25 ms a query). LOCAL: only this transaction.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    items: list[Any] = []
    for ph in runs:
        if ph < phase:
            continue
        want = limit + 1 - len(items)
        start = after if ph == phase else None
        rows = _tag_window(session, filters, ph, start, want)
        if rows is None:
            rows = _page_rows(session, base, ph, start, want)
        items.extend((ph, row) for row in rows)
        if len(items) > limit:
            break
    page, more = items[:limit], len(items) > limit
    next_cursor = _encode(*page[-1]) if more and page else None
    return Page(items=[tuple(row) for _, row in page], next_cursor=next_cursor)  # type: ignore[misc]


# A tag filter has two ways to read the waiting run: walk the run's order index and
# test the tag on each conversation, cheap when the tag is common there; or read every
# conversation with the tag and sort them, cheap when the tag is small. SQLite always
# chose the second: 20-30 ms for a tag on 4,000 of 250,000 conversations on a slow
# machine. PostgreSQL chose the walk even for a tag whose conversations were nearly all
# answered: 47,000 tests for 51 rows (55-115 ms). So both first look at the next
# TAG_WINDOW conversations in list order and test the tag on each. When the page fills
# from them, nothing else is read. When it does not, the tag is rare in this run and
# the second way follows (SQLite's usual plan; PostgreSQL is kept from walking), at most
# TAG_WINDOW index steps later than it would have run (about 9 ms on that machine), so
# a tag on fewer than TAG_SMALL conversations, quick to read whole, skips the window.
TAG_WINDOW = 2_000
TAG_SMALL = 1_000


def _tag_window(session: Session, filters: ConversationFilter, phase: int,
                after: tuple[datetime, int] | None, want: int) -> list[Any] | None:
    """The waiting run's next `want` rows with the tag, if the window holds them (or
    holds the rest of the run); None when the run must be read the usual way."""
    if phase != 0 or filters.tag_id is None or filters.q:
        return None
    members = select(ConversationTag.conversation_id).where(
        ConversationTag.tag_id == filters.tag_id).limit(TAG_SMALL)
    if (session.scalar(select(func.count()).select_from(members.subquery())) or 0) < TAG_SMALL:
        return None
    untagged = replace(filters, tag_id=None)
    key, ascending, _ = _runs()[phase]
    window = _run_query(_filtered(session, untagged, rows=False).add_columns(
        key.label("k")), phase, after, TAG_WINDOW).subquery()
    has_tag = exists().where(ConversationTag.conversation_id == window.c.id,
                             ConversationTag.tag_id == filters.tag_id)
    # In run order and no more than the page needs: where the tag is common, the walk
    # stops after a few steps instead of testing the whole window.
    matched = list(session.scalars(select(window.c.id).where(has_tag).order_by(
        *_ordered(window.c.k, window.c.id, ascending)).limit(want)))
    if len(matched) < want and session.scalar(
            select(func.count()).select_from(window)) == TAG_WINDOW:
        # More of the run lies beyond the window, and the tag is rare in it.
        if session.get_bind().dialect.name == "sqlite":
            return None
        return _page_rows(session, _filtered(session, filters, rows=False), phase, after,
                          want, walk=False)
    if not matched:
        return []
    # The window is the head of the run in order, so its first matches are the run's.
    base = _filtered(session, untagged, rows=False).where(
        Conversation.id.in_(matched))  # type: ignore[union-attr]
    return _page_rows(session, base, phase, after, want)


def _page_rows(session: Session, ids: Select[Any], phase: int,
               after: tuple[datetime, int] | None, want: int,
               walk: bool = True) -> list[Any]:
    """The run's next `want` rows of the filter `ids` (a select of conversation ids).

    The page's ids are found and ordered on the conversation table alone, and only
    they are joined with their contact and account: sorting whole joined rows cost
    SQLite 30 ms for a tag on 4,000 conversations under "newest" (8 ms like this).
    `walk=False` keeps the database from reading the run along its order index."""
    key, ascending, _ = _runs()[phase]
    page = _run_query(ids, phase, after, want, walk).subquery()
    return list(session.execute(
        select(Conversation, Contact, Account)
        .join(page, page.c.id == Conversation.id)
        .join(Account, Account.id == Conversation.account_id)
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .order_by(*_ordered(key, Conversation.id, ascending))).all())


def _filtered(session: Session, filters: ConversationFilter,
              rows: bool = True) -> Select[Any]:
    """The filter as a query; `rows=False` leaves out the joins a count does not need."""
    q = (select(Conversation, Contact, Account)
         .join(Account, Account.id == Conversation.account_id)
         .outerjoin(Contact, Contact.id == Conversation.contact_id)) if rows \
        else select(Conversation.id)
    if filters.status:
        q = q.where(Conversation.status == filters.status)
    if filters.account_id is not None:
        q = q.where(Conversation.account_id == filters.account_id)
    if filters.platform:
        q = q.where(Conversation.platform == filters.platform)
    if filters.assignee_id is not None:
        q = q.where(Conversation.assignee_id == filters.assignee_id)
    if filters.unassigned:
        q = q.where(Conversation.assignee_id.is_(None))  # type: ignore[union-attr]
    if filters.team_id is not None:
        q = q.where(Conversation.team_id == filters.team_id)
    if filters.priority:
        q = q.where(Conversation.priority == filters.priority)
    if filters.escalated:
        q = q.where(Conversation.escalated_at.is_not(None))  # type: ignore[union-attr]
    if filters.tag_id is not None:
        q = q.where(Conversation.id.in_(  # type: ignore[union-attr]
            select(ConversationTag.conversation_id).where(ConversationTag.tag_id == filters.tag_id)
        ))
    if filters.q:
        from app.inbox.search import matching_conversation_ids

        q = q.where(Conversation.id.in_(  # type: ignore[union-attr]
            matching_conversation_ids(session, filters.q)))
    return q


def _run_query(base: Select[Any], phase: int, after: tuple[datetime, int] | None,
               limit: int, walk: bool = True) -> Select[Any]:
    key, ascending, condition = _runs()[phase]
    cid = Conversation.id
    q = base if condition is None else _where_once(base, condition)
    if after:
        beyond = (key > after[0]) if ascending else (key < after[0])
        tie = (cid > after[1]) if ascending else (cid < after[1])  # type: ignore[operator]
        q = q.where(or_(beyond, and_(key == after[0], tie)))
    # The same values through an expression no index is sorted by (on either store).
    by = key if walk else func.coalesce(key, key)
    return q.order_by(*_ordered(by, cid, ascending)).limit(limit)


def _ordered(key: Any, cid: Any, ascending: bool) -> tuple[Any, Any]:
    """A run's ORDER BY: its key, then the id to break ties, both the same way."""
    return (key.asc(), cid.asc()) if ascending else (key.desc(), cid.desc())


def _where_once(q: Select[Any], condition: Any) -> Select[Any]:
    """Add `condition` unless the query has it already (the Escalated filter and the
    escalated sort both ask for it). PostgreSQL counts a repeated condition twice: it
    took the 2,478 escalated conversations of bench/inbox.py for 28, read them all and
    sorted them (9 ms) instead of the first 51 along their index (0.3 ms)."""
    present = q.whereclause
    if present is None:
        parts: list[Any] = []
    elif isinstance(present, BooleanClauseList) and present.operator is operators.and_:
        parts = list(present.clauses)
    else:  # one condition, or an OR whose branches each hold only sometimes
        parts = [present]
    return q if any(part.compare(condition) for part in parts) else q.where(condition)


def count_conversations(session: Session, filters: ConversationFilter) -> int:
    """How many conversations match (for the view counts)."""
    inner = _filtered(session, filters, rows=False).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


def _encode(phase: int, row: Any) -> str:
    conv: Conversation = row[0]
    key = _runs()[phase][0]
    ts = getattr(conv, key.key)
    raw = json.dumps([phase, ts.isoformat() if ts else None, conv.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, tuple[datetime, int] | None]:
    """A cursor from _encode, checked: one that decodes but was not made here (a time
    without a zone, out of range, an unknown phase) is refused like garbage."""
    refused = Invalid("cursor is not one this server gave out")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        phase, ts, cid = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(ts)
        # A day of margin both ways keeps the time representable in every zone.
        _ = when.astimezone(UTC) + timedelta(days=1) - timedelta(days=2)
    except (ValueError, TypeError, OverflowError, binascii.Error, json.JSONDecodeError):
        raise refused from None
    if when.tzinfo is None or phase not in _runs() or type(cid) is not int \
            or not 1 <= cid <= MAX_ID:
        raise refused
    return phase, (when, cid)


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conv = session.get(Conversation, conversation_id)
    if conv is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conv


@dataclass
class ThreadMessage:
    message: Message
    author_name: str | None
    author_handle: str | None


def thread(session: Session, conv: Conversation) -> list[ThreadMessage]:
    """The conversation's messages, oldest first, with who wrote each."""
    rows = session.execute(
        select(Message, Contact, Agent)
        .outerjoin(Contact, Contact.id == Message.author_contact_id)
        .outerjoin(Agent, Agent.id == Message.author_agent_id)
        .where(Message.conversation_id == conv.id)
        .order_by(Message.created_at, Message.id)
    ).all()
    out = []
    for msg, contact, agent in rows:
        if contact is not None:
            out.append(ThreadMessage(msg, contact.name, contact.handle))
        elif agent is not None:
            out.append(ThreadMessage(msg, agent.name, None))
        else:
            out.append(ThreadMessage(msg, None, None))
    return out


def get_message(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    return message
