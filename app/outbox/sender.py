"""Posting queued replies: queued -> sending -> sent / failed, at most once per reply.

How "at most once" holds when the worker dies between the platform call and the
database update: an item is committed as `sending` *before* the call. An item still
`sending` when it is next looked at (after a crash, or after a timeout that may have
posted) is never simply re-sent: the connector's `find_sent` is asked first whether the
platform has it; found, it is recorded as sent with that id; not found, it is sent again.
A connector that cannot look (no `find_sent`) marks such an item failed for a person to
check, rather than risk a double post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlmodel import Session

from app.accounts.models import Account
from app.db import utcnow
from app.inbox.models import Conversation, Message
from app.outbox.models import Outbox
from app.outbox.service import UNKNOWN_IF_POSTED, outgoing_reply
from app.settings import ConfigError
from connectors.base import (
    AuthExpired,
    Connector,
    ConnectorError,
    OutgoingReply,
    Permanent,
    RateLimited,
    Transient,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
# An item `sending` for longer than this belongs to a worker that died.
SENDING_LEASE = timedelta(seconds=60)


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    reconciled: int = 0


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 600))


def send_due(session: Session, connector_for: Callable[[Account], Connector], *,
             now: datetime | None = None, limit: int = 50) -> SendReport:
    """Send or reconcile every outbox item that is due; commits after each item.

    `sending_started_at` stays set while a post may have reached the platform without us
    knowing (a timeout, a dead worker); a clear refusal clears it. A failed reply that
    still has it is looked up before a retry posts it again (service.retry_reply).
    """
    now = now or utcnow()
    report = SendReport()
    for item in _due(session, now, limit):
        account = session.get(Account, item.account_id)
        message = session.get(Message, item.message_id)
        if account is None or message is None:
            continue
        if account.needs_reconnect:
            _fail(session, item, message, "the account needs reconnection", now)
            report.failed += 1
            session.commit()
            continue
        try:
            connector = connector_for(account)
        except (ConfigError, ConnectorError) as exc:
            # Credentials that cannot be read or used: this reply fails with the reason,
            # the worker goes on with the rest.
            _fail(session, item, message, f"cannot send from {account.name}: {exc}", now)
            report.failed += 1
            session.commit()
            continue
        reply = outgoing_reply(session, message)
        if item.state == "sending" and _reconcile(session, item, message, connector, reply,
                                                  now, report):
            session.commit()
            continue
        item.state, item.sending_started_at = "sending", now
        item.attempts += 1
        message.delivery_state = "sending"
        session.add_all([item, message])
        _changed(session, message, now)
        session.commit()  # the crash window starts here, and is covered by _reconcile
        _send(session, item, message, account, connector, reply, now, report)
        session.commit()
    return report


def _due(session: Session, now: datetime, limit: int) -> list[Outbox]:
    stuck_before = now - SENDING_LEASE
    q = (select(Outbox)
         .where(or_(
             (Outbox.state == "queued") & (Outbox.next_attempt_at <= now),  # type: ignore[operator]
             (Outbox.state == "sending") & (Outbox.next_attempt_at <= now)  # type: ignore[operator]
             & (Outbox.sending_started_at <= stuck_before),  # type: ignore[operator]
         ))
         .order_by(Outbox.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.scalars(q))


def _reconcile(session: Session, item: Outbox, message: Message, connector: Connector,
               reply: OutgoingReply, now: datetime, report: SendReport) -> bool:
    """True when the item is settled without sending (found on the platform, or failed)."""
    find = getattr(connector, "find_sent", None)
    if find is None:
        _fail(session, item, message, UNKNOWN_IF_POSTED, now)
        report.failed += 1
        return True
    since = (item.sending_started_at or message.created_at) - timedelta(minutes=5)
    try:
        found = find(reply, since)
    except RateLimited as exc:
        reset = datetime.fromtimestamp(exc.reset_at, UTC) if exc.reset_at else now + backoff(1)
        item.next_attempt_at, item.last_error = reset, str(exc)
        session.add(item)
        return True
    except AuthExpired as exc:
        account = session.get(Account, item.account_id)
        if account is not None:
            _needs_reconnect(session, account, exc, now)
        _fail(session, item, message, f"{UNKNOWN_IF_POSTED} (the account needs "
              f"reconnection: {exc})", now)
        report.failed += 1
        return True
    except ConnectorError as exc:
        # Counted like a send attempt: a look-up that keeps failing must not leave the
        # reply `sending` for ever.
        item.attempts += 1
        if item.attempts >= MAX_ATTEMPTS:
            _fail(session, item, message, f"{UNKNOWN_IF_POSTED} (the platform could not be "
                  f"asked: {exc})", now)
            report.failed += 1
        else:
            item.next_attempt_at, item.last_error = now + backoff(item.attempts), str(exc)
            session.add(item)
        return True
    if found:
        _mark_sent(session, item, message, str(found), now)
        report.reconciled += 1
        return True
    return False


def _send(session: Session, item: Outbox, message: Message, account: Account,
          connector: Connector, reply: OutgoingReply, now: datetime, report: SendReport) -> None:
    try:
        external_id = connector.send(reply)
    except RateLimited as exc:
        # A 429 means nothing was posted: plain retry after the reset.
        reset = datetime.fromtimestamp(exc.reset_at, UTC) if exc.reset_at else now + backoff(1)
        _requeue(session, item, message, "queued", reset, str(exc), now)
        report.retried += 1
    except Transient as exc:
        if item.attempts >= MAX_ATTEMPTS:
            _fail(session, item, message, f"gave up after {item.attempts} attempts: {exc}", now)
            report.failed += 1
        else:
            # It may have been posted before the error: stays `sending`, reconciled first.
            _requeue(session, item, message, "sending", now + backoff(item.attempts), str(exc),
                     now)
            report.retried += 1
    except AuthExpired as exc:
        _needs_reconnect(session, account, exc, now)
        item.sending_started_at = None  # refused: nothing went out
        _fail(session, item, message, f"the account needs reconnection: {exc}", now)
        report.failed += 1
    except (Permanent, ConnectorError) as exc:
        item.sending_started_at = None
        _fail(session, item, message, str(exc), now)
        report.failed += 1
    else:
        _mark_sent(session, item, message, external_id, now)
        report.sent += 1


def _needs_reconnect(session: Session, account: Account, exc: AuthExpired,
                    now: datetime) -> None:
    account.needs_reconnect, account.last_error, account.last_error_at = True, str(exc), now
    session.add(account)


def _requeue(session: Session, item: Outbox, message: Message, state: str, at: datetime,
             error: str, now: datetime) -> None:
    item.state, item.next_attempt_at, item.last_error, item.updated_at = state, at, error, now
    if state == "queued":
        item.sending_started_at = None  # a 429: nothing went out
    message.delivery_state = "queued" if state == "queued" else "sending"
    session.add_all([item, message])
    _changed(session, message, now)


def _fail(session: Session, item: Outbox, message: Message, reason: str, now: datetime) -> None:
    item.state, item.last_error, item.updated_at = "failed", reason, now
    message.delivery_state, message.delivery_error = "failed", reason
    session.add_all([item, message])
    session.flush()
    _wait_again(session, message.conversation_id)
    _changed(session, message, now)
    log.warning("reply %s failed: %s", message.id, reason)


def _wait_again(session: Session, conversation_id: int) -> None:
    """A reply that failed answered nothing: the customer is waiting again, since their
    first message after the last reply that did go out (the inbox sorts by this)."""
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.status == "resolved":
        return
    answered = session.scalar(select(func.max(Message.created_at)).where(
        Message.conversation_id == conversation_id, Message.direction == "outbound",
        func.coalesce(Message.delivery_state, "sent") != "failed"))
    unanswered = select(func.min(Message.created_at)).where(
        Message.conversation_id == conversation_id, Message.direction == "inbound")
    if answered is not None:
        unanswered = unanswered.where(Message.created_at > answered)  # type: ignore[operator]
    conv.waiting_since = session.scalar(unanswered)
    session.add(conv)


def _mark_sent(session: Session, item: Outbox, message: Message, external_id: str,
               now: datetime) -> None:
    # The poller may have stored our own post already (own timeline); keep ours only.
    copies = session.execute(
        delete(Message).where(Message.platform == message.platform,
                              Message.external_id == external_id, Message.id != message.id)
        .returning(Message.conversation_id)
    ).scalars().all()
    for conv_id in copies:
        session.execute(update(Conversation).where(Conversation.id == conv_id)
                        .values(message_count=Conversation.message_count - 1))
    item.state, item.last_error, item.updated_at = "sent", None, now
    message.external_id, message.delivery_state, message.delivery_error = external_id, "sent", None
    session.add_all([item, message])
    _changed(session, message, now)


def _changed(session: Session, message: Message, now: datetime) -> None:
    """Open views follow `updated_at` (app/realtime): a delivery state change is a change."""
    session.execute(update(Conversation).where(Conversation.id == message.conversation_id)
                    .values(updated_at=now))
