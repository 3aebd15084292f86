"""Polling: fetch each due stream through its connector and ingest what comes back.

Per error class: RateLimited -> no call before the platform's reset; Transient ->
exponential backoff; AuthExpired -> the account is marked and polling it stops;
Permanent -> recorded, the stream goes on at its normal interval. One account's
failure never stops another's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.accounts.models import Account, Cursor
from app.accounts.service import ensure_cursors
from app.db import utcnow
from app.ingest.service import ingest_batch
from app.settings import ConfigError
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

    def merge(self, other: PollReport) -> None:
        self.streams += other.streams
        self.api_calls += other.api_calls
        self.new_messages += other.new_messages
        self.errors += other.errors
        self.conversation_ids |= other.conversation_ids


def poll_due(session: Session, connector_for: Callable[[Account], Connector], *,
             default_interval: int, worker_id: str = "worker",
             now: datetime | None = None, force: bool = False,
             parallel: Parallel | None = None) -> PollReport:
    """Poll every stream that is due on every enabled account; commits per batch.

    `force` ignores the regular interval but still waits out rate limits and backoffs.
    With `parallel`, streams are polled at once, each in its own thread and session.
    """
    now = now or utcnow()
    jobs = _lease_due(session, worker_id, now, force)
    report = PollReport()
    if parallel is None or len(jobs) < 2:
        connectors: dict[int | None, Connector] = {}
        for account, cursor in jobs:
            # After a stream's database error, these reads reload the objects: a database
            # that stays down ends the cycle here, as every stream would fail alike.
            if account.needs_reconnect:
                # An earlier stream of this cycle found the account disconnected.
                _release(session, cursor.id)
                continue
            connector = connectors.get(account.id) or _connector(session, account, cursor,
                                                                 connector_for, now, report)
            if connector is None:
                continue
            connectors[account.id] = connector
            _poll_guarded(session, account, cursor, connector, now=now, report=report,
                          interval=_interval(account, default_interval))
        return report
    ids = [(account.id, cursor.id) for account, cursor in jobs]
    futures = [parallel.pool.submit(_poll_alone, parallel.sessions, connector_for, job,
                                    default_interval, now) for job in ids]
    for future in futures:
        report.merge(future.result())
    return report


@dataclass(frozen=True)
class Parallel:
    """Where streams polled at once run: the threads, and sessions of their own."""

    pool: Executor
    sessions: sessionmaker[Session]


def _lease_due(session: Session, worker_id: str, now: datetime,
               force: bool) -> list[tuple[Account, Cursor]]:
    accounts = list(session.scalars(select(Account).where(
        Account.enabled.is_(True), Account.needs_reconnect.is_(False))))  # type: ignore[attr-defined]
    for account in accounts:
        ensure_cursors(session, account)
    session.commit()
    jobs = []
    for account in accounts:
        due = or_(Cursor.next_poll_at.is_(None), Cursor.next_poll_at <= now)  # type: ignore[union-attr,operator]
        if force:
            due = or_(due, Cursor.last_error.is_(None))  # type: ignore[union-attr]
        # populate_existing: the value is written by statements (ingest's upsert), so a
        # Cursor this session loaded in an earlier cycle would otherwise be stale.
        cursors = session.scalars(select(Cursor).where(Cursor.account_id == account.id, due)
                                  .order_by(Cursor.id)
                                  .execution_options(populate_existing=True)).all()
        jobs += [(account, c) for c in cursors if _lease(session, c, worker_id, now)]
    return jobs


def _release(session: Session, cursor_id: int | None) -> None:
    session.execute(update(Cursor).where(Cursor.id == cursor_id).values(leased_until=None))
    session.commit()


def _interval(account: Account, default: int) -> timedelta:
    return timedelta(seconds=account.poll_interval or default)


def _poll_alone(sessions: sessionmaker[Session], connector_for: Callable[[Account], Connector],
                job: tuple[int | None, int | None], default_interval: int,
                now: datetime) -> PollReport:
    """One stream in a thread of its own: its own session, its own report."""
    report = PollReport()
    with sessions() as session:
        account, cursor = session.get(Account, job[0]), session.get(Cursor, job[1])
        if account is None or cursor is None:
            return report  # removed since it was leased
        connector = _connector(session, account, cursor, connector_for, now, report)
        if connector is not None:
            _poll_guarded(session, account, cursor, connector, now=now, report=report,
                          interval=_interval(account, default_interval))
    return report


def _connector(session: Session, account: Account, cursor: Cursor,
               connector_for: Callable[[Account], Connector], now: datetime,
               report: PollReport) -> Connector | None:
    """The account's connector, or None when its credentials cannot be read or used: the
    account is marked for reconnection (as for an expired token) and the cycle goes on."""
    try:
        return connector_for(account)
    except (ConfigError, ConnectorError) as exc:
        error = f"needs reconnection: {exc}"
        log.warning("account %s (%s) %s", account.id, account.name, error)
        _settle(session, account.id, cursor.id, now, next_at=now, error=error,
                needs_reconnect=True)
        session.commit()
        report.errors.append(f"{account.name}/{cursor.stream}: {error}")
        return None


def _poll_guarded(session: Session, account: Account, cursor: Cursor, connector: Connector, *,
                  interval: timedelta, now: datetime, report: PollReport) -> None:
    """poll_stream, with a database failure (a deadlock, a lost connection) reported
    against this stream alone: the batch rolled back, and the stream is released for the
    next cycle (if the database lets us, else its lease runs out) instead of the error
    ending the cycle for the streams after it."""
    name, stream, cursor_id = account.name, cursor.stream, cursor.id
    try:
        poll_stream(session, account, cursor, connector, now=now, report=report,
                    interval=interval)
    except SQLAlchemyError as exc:
        session.rollback()
        log.exception("polling %s/%s failed", name, stream)
        report.errors.append(f"{name}/{stream}: database error: {type(exc).__name__}")
        try:
            _release(session, cursor_id)
        except SQLAlchemyError:
            session.rollback()


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
            # Received now, not when the cycle began: ingest caps message times at this,
            # and posts written during the fetch must keep their own times and order.
            received = max(now, utcnow())
            result = ingest_batch(session, account=account, stream=stream,
                                  messages=batch.messages, cursor=batch.cursor, now=received)
            report.new_messages += result.new_messages
            report.conversation_ids |= result.conversation_ids
            value = batch.cursor if batch.cursor is not None else value
            _settle(session, account_id, cursor_id, now, next_at=now + interval)
            session.commit()
            if batch.interrupted is not None:
                raise batch.interrupted  # stored what it read; now wait as the error says
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
