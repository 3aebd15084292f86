"""The "closest to breach" order: open conversations by when their SLA clock runs out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from app.errors import Invalid
from app.inbox.models import Conversation, Status
from app.inbox.service import ConversationFilter, Page, _filtered
from app.reports.sla import sla_status

# How many open conversations are ranked. Past this, the longest waiting ones are the
# candidates: with one policy, longest waiting is closest to breach anyway.
CANDIDATES = 2000
NEVER = datetime.max.replace(tzinfo=UTC)


def closest_to_breach(session: Session, *, filters: ConversationFilter, limit: int,
                      cursor: str | None = None) -> Page:
    """A page of conversations, the first to breach (or most overdue) first."""
    try:
        offset = int(cursor or 0)
    except ValueError:
        raise Invalid("cursor is not one this server gave out") from None
    base = _filtered(session, filters).where(Conversation.status != Status.RESOLVED.value)
    rows = session.execute(
        base.order_by(Conversation.waiting_since.asc().nulls_last(),  # type: ignore[union-attr]
                      Conversation.id).limit(CANDIDATES)
    ).all()
    clocks = sla_status(session, [row[0].id for row in rows])

    def due(row: tuple[Conversation, object, object]) -> tuple[datetime, int]:
        sla = clocks.get(row[0].id or 0)
        times = [c.due_at for c in (sla.reply, sla.resolution) if c is not None] if sla else []
        return (min(times) if times else NEVER, row[0].id or 0)

    ranked = sorted(rows, key=due)  # type: ignore[arg-type]
    page = ranked[offset:offset + limit]
    more = offset + limit < len(ranked)
    return Page(items=[tuple(r) for r in page],  # type: ignore[misc]
                next_cursor=str(offset + limit) if more else None)
