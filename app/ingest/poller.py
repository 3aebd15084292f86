"""Polling: fetch each due stream through its connector and ingest what comes back.

Per error class: RateLimited -> no call before the platform's reset; Transient ->
exponential backoff; AuthExpired -> the account is marked and polling it stops;
Permanent -> recorded, the stream goes on at its normal interval. One account's
failure never stops another's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlmodel import Session

from app.accounts.models import Account, Cursor
from app.accounts.service import ensure_cursors
from app.db import utcnow
from app.ingest.service import ingest_batch
from connectors.base import AuthExpired, Connector, ConnectorError, RateLimited, Transient

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_FETCHES = 20  # per stream and cycle, when the connector says there is more
MAX_BACKOFF = timedelta(minutes=15)


@dataclass
class PollReport:
    streams: int = 0
    api_calls: int = 0
    new_messages: int = 0
    errors: list[str] = field(default_factory=list)
    conversation_ids: set[int] = field(default_factory=set)


def poll_due(session: Session, connector_for: Callable[[Account], Connector], *,
             default_interval: int, worker_id: str = "worker",
             now: datetime | None = None, force: bool = False) -> PollReport:
    """Poll every stream that is due on every enabled account; commits per batch.

    `force` ignores the regular interval but still waits out rate limits and backoffs.
    """
    now = now or utcnow()
    report = PollReport()
    accounts = list(session.scalars(select(Account).where(
        Account.enabled.is_(True), Account.needs_reconnect.is_(False))))  # type: ignore[attr-defined]
    for account in accounts:
        ensure_cursors(session, account)
    session.commit()
    for account in accounts:
        due = or_(Cursor.next_poll_at.is_(None), Cursor.next_poll_at <= now)  # type: ignore[union-attr,operator]
        if force:
            due = or_(due, Cursor.last_error.is_(None))  # type: ignore[union-attr]
        cursors = session.scalars(select(Cursor).where(Cursor.account_id == account.id, due)
                                  .order_by(Cursor.id)).all()
        connector: Connector | None = None
        for cursor in cursors:
            if account.needs_reconnect or not _lease(session, cursor, worker_id, now):
                continue
            connector = connector or connector_for(account)
            interval = timedelta(seconds=account.poll_interval or default_interval)
            poll_stream(session, account, cursor, connector, interval=interval, now=now,
                        report=report)
    return report


def _lease(session: Session, cursor: Cursor, worker_id: str, now: datetime) -> bool:
    """Claim the stream for this worker; another worker's live lease wins."""
    claimed = session.execute(
        update(Cursor).where(
            Cursor.id == cursor.id,
            or_(Cursor.leased_until.is_(None), Cursor.leased_until < now,  # type: ignore[union-attr,operator]
                Cursor.leased_by == worker_id),
        ).values(leased_by=worker_id, leased_until=now + LEASE)
    ).rowcount
    session.commit()
    return bool(claimed)


def poll_stream(session: Session, account: Account, cursor: Cursor, connector: Connector, *,
                interval: timedelta, now: datetime, report: PollReport) -> None:
    """Fetch one stream until it has nothing more, ingesting each batch in one transaction."""
    report.streams += 1
    account_id, cursor_id, name = account.id, cursor.id, account.name
    stream, value, failures = cursor.stream, cursor.value, cursor.failures
    try:
        for _ in range(MAX_FETCHES):
            batch = connector.fetch(stream, value)
            report.api_calls += batch.api_calls
            result = ingest_batch(session, account=account, stream=stream,
                                  messages=batch.messages, cursor=batch.cursor, now=now)
            report.new_messages += result.new_messages
            report.conversation_ids |= result.conversation_ids
            value = batch.cursor if batch.cursor is not None else value
            _settle(session, account_id, cursor_id, now, next_at=now + interval)
            session.commit()
            if not batch.has_more:
                break
        return
    except RateLimited as exc:
        next_at = datetime.fromtimestamp(exc.reset_at, UTC) if exc.reset_at else now + interval
        error, reconnect = f"rate limited until {next_at:%H:%M:%S} UTC", False
    except Transient as exc:
        failures += 1
        next_at = now + min(interval * 2 ** (failures - 1), MAX_BACKOFF)
        error, reconnect = f"temporary error (attempt {failures}): {exc}", False
    except AuthExpired as exc:
        next_at, error, reconnect = now + interval, f"needs reconnection: {exc}", True
        log.warning("account %s (%s) needs reconnection: %s", account_id, name, exc)
    except ConnectorError as exc:
        next_at, error, reconnect = now + interval, f"error: {exc}", False
    session.rollback()  # whatever the failed fetch left half-done
    _settle(session, account_id, cursor_id, now, next_at=next_at, error=error,
            failures=failures, needs_reconnect=reconnect)
    session.commit()
    report.errors.append(f"{name}/{stream}: {error}")


def _settle(session: Session, account_id: int | None, cursor_id: int | None, now: datetime, *,
            next_at: datetime, error: str | None = None, failures: int = 0,
            needs_reconnect: bool = False) -> None:
    session.execute(update(Cursor).where(Cursor.id == cursor_id).values(
        next_poll_at=next_at, leased_until=None, failures=failures, last_error=error,
    ))
    values: dict[str, object] = (
        {"last_polled_at": now, "last_error": None} if error is None
        else {"last_error": error, "last_error_at": now}
    )
    if needs_reconnect:
        values["needs_reconnect"] = True
    session.execute(update(Account).where(Account.id == account_id).values(**values))
