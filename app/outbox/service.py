"""Agent replies: stored with their outbox item in one transaction, before any network call."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from app.db import utcnow
from app.errors import Invalid
from app.inbox.actions import close_escalations_on_answer
from app.inbox.models import (
    AuditEvent,
    CannedResponse,
    Contact,
    Conversation,
    DeliveryState,
    Message,
)
from app.outbox.models import Outbox
from app.text import blank, typed
from connectors.base import (
    PUBLIC_KINDS,
    TEXT_LIMITS,
    OutgoingReply,
    Platform,
    ThreadKind,
    counted_length,
)
from connectors.facebook import messenger_window, private_reply_open


def queue_reply(session: Session, *, conversation: Conversation, agent: Agent | None, text: str,
                private: bool = False, now: datetime | None = None,
                canned: tuple[int, str] | None = None) -> Message:
    """Store an outbound reply and queue it for the worker; refuses bad input before storing."""
    now = now or utcnow()
    text = typed(text.strip(), "reply")
    kind = ThreadKind(conversation.thread_kind)
    if blank(text):
        raise Invalid("a reply needs some text")
    if private and kind not in PUBLIC_KINDS:
        raise Invalid("this conversation is private already; send without 'private'")
    refusal = length_refusal(text, kind, private)
    if refusal:
        raise Invalid(refusal)
    refusal = window_refusal(conversation, private, now)
    if refusal:
        raise Invalid(refusal)
    # One reply at a time per conversation (PostgreSQL; SQLite's writes queue anyway), read
    # afresh: concurrent replies must neither lose a count nor both pass the check below.
    session.refresh(conversation, with_for_update=True)
    twin = _same_reply(session, conversation, agent, text, private, now)
    if twin is not None:
        return twin  # a double click or a repeated request: that reply, once
    account = session.get(Account, conversation.account_id)
    if account is None or not account.credentials_encrypted:
        raise Invalid(f"{account.name if account else 'this account'} is not connected (no "
                      "credentials), so nothing can be sent from it; connect it first")
    target = reply_target(session, conversation)
    if private and kind == ThreadKind.FB_COMMENT and target is not None:
        refusal = private_reply_refusal(session, target)
        if refusal:
            raise Invalid(refusal)
    message = Message(
        conversation_id=conversation.id or 0, platform=conversation.platform,
        direction="outbound", author_agent_id=agent.id if agent else None, text=text,
        created_at=now, received_at=now, is_private=private,
        delivery_state=DeliveryState.QUEUED.value,
        # Fixed now: what the agent answered, even if the customer writes again before
        # the worker sends (and the at-most-once check looks for this same target).
        in_reply_to_external_id=target.external_id if target else None,
    )
    if canned is not None and session.get(CannedResponse, canned[0]) is not None:
        # `canned` = (id, the text as the canned response filled it in): reports count
        # replies that went out without a change.
        message.canned_response_id = canned[0]
        message.canned_unchanged = canned[1].strip() == text
    session.add(message)
    session.flush()
    session.add(Outbox(message_id=message.id or 0, account_id=conversation.account_id,
                       state=DeliveryState.QUEUED.value, next_attempt_at=now, created_at=now,
                       updated_at=now))
    _answered(conversation, text, now)
    conversation.message_count += 1
    close_escalations_on_answer(session, conversation)
    session.add(conversation)
    session.add(AuditEvent(agent_id=agent.id if agent else None,
                           conversation_id=conversation.id, action="replied",
                           details={"message_id": message.id, "private": private},
                           created_at=now))
    session.flush()
    return message


# The same text from the same person on the same thread this soon is the same reply.
RESUBMIT_WINDOW = timedelta(seconds=60)


def _same_reply(session: Session, conversation: Conversation, agent: Agent | None, text: str,
                private: bool, now: datetime) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.conversation_id == conversation.id, Message.direction == "outbound",
            Message.author_agent_id == (agent.id if agent else None),
            Message.text == text, Message.is_private == private,
            Message.created_at >= now - RESUBMIT_WINDOW,  # type: ignore[operator]
            Message.delivery_state != DeliveryState.FAILED.value)
        .limit(1)
    ).first()


PLATFORM_NAMES = {Platform.X: "X", Platform.FACEBOOK: "Facebook"}


def length_refusal(text: str, kind: ThreadKind, private: bool) -> str | None:
    """Why the platform would refuse this text as too long, in its own count, or None."""
    limit = TEXT_LIMITS[(kind, private)]
    length = counted_length(text, kind, private)
    if length <= limit:
        return None
    platform = Platform.X if kind in (ThreadKind.X_MENTION, ThreadKind.X_DM) else Platform.FACEBOOK
    what = "a post" if kind in PUBLIC_KINDS and not private else "a message"
    return (f"{PLATFORM_NAMES[platform]} counts this reply as {length} characters; "
            f"{what} takes at most {limit}")


def window_refusal(conv: Conversation, private: bool, now: datetime) -> str | None:
    """Why Messenger would refuse a reply now (its 7-day window), or None."""
    kind = ThreadKind(conv.thread_kind)
    if kind == ThreadKind.FB_MESSENGER and \
            messenger_window(conv.last_inbound_at, now) == "closed":
        return ("Messenger only allows replies within 7 days of the person's last message; "
                "wait for them to write again, or reach them on another channel")
    if kind == ThreadKind.FB_COMMENT and private and \
            not private_reply_open(conv.last_inbound_at, now):
        return "a private reply to a comment is only possible within 7 days of the comment"
    return None


def reply_target(session: Session, conversation: Conversation) -> Message | None:
    """The customer message a reply answers: the newest one. X threads a public reply
    under it; a private reply on Facebook goes to that comment."""
    return session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == "inbound",
               Message.external_id.is_not(None))  # type: ignore[union-attr]
        .order_by(Message.created_at.desc(), Message.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()


def private_reply_refusal(session: Session, comment: Message) -> str | None:
    """Why Facebook would refuse a private reply to this comment, or None: it takes one
    per comment, and not every comment can be answered privately."""
    answered = session.scalar(
        select(Message.id).where(
            Message.platform == comment.platform, Message.direction == "outbound",
            Message.is_private.is_(True),  # type: ignore[attr-defined]
            Message.in_reply_to_external_id == comment.external_id,
            Message.delivery_state != DeliveryState.FAILED.value)
        .limit(1))
    if answered is not None:
        return ("this comment has its private reply already (Facebook allows one per "
                "comment); answer in the comments, or wait for the person to write again")
    if isinstance(comment.raw, dict) and comment.raw.get("can_reply_privately") is False:
        return ("Facebook does not allow a private reply to this comment (the person "
                "cannot be messaged); answer in the comments")
    return None


def _answered(conversation: Conversation, text: str, now: datetime) -> None:
    """A reply of ours is the conversation's newest message and ends its wait."""
    conversation.last_outbound_at, conversation.waiting_since = now, None
    conversation.last_message_at, conversation.last_message_text = now, text[:280]
    conversation.updated_at = now


# The reason a reply fails when nobody can tell whether it reached the platform: a person
# checks there first, so their retry sends without asking again.
UNKNOWN_IF_POSTED = "unknown whether this reply was posted; check the platform before retrying"


def retry_reply(session: Session, *, message: Message, agent: Agent | None,
                now: datetime | None = None) -> Outbox:
    """Queue a failed reply again.

    A reply that went out to the platform before it failed (a timeout, a dead worker) may
    be there already: it goes back as `sending`, so the worker looks for it before it posts
    again, as after a crash.
    """
    item = session.scalars(select(Outbox).where(Outbox.message_id == message.id)).first()
    if item is None or item.state != DeliveryState.FAILED:
        raise Invalid("only a failed reply can be retried")
    now = now or utcnow()
    # UNKNOWN_IF_POSTED alone: the connector cannot look, and the person was asked to.
    maybe_posted = item.sending_started_at is not None and item.last_error != UNKNOWN_IF_POSTED
    item.state = "sending" if maybe_posted else "queued"
    item.attempts, item.next_attempt_at, item.updated_at = 0, now, now
    message.delivery_state, message.delivery_error = item.state, None
    # The customer gets it now, not when it was first written: response times count
    # from here, and the conversation is answered again (the failure had reopened it).
    message.created_at = now
    conversation = session.get(Conversation, message.conversation_id)
    if conversation is not None:
        _answered(conversation, message.text, now)
        session.add(conversation)
    session.add_all([item, message])
    session.add(AuditEvent(agent_id=agent.id if agent else None,
                           conversation_id=message.conversation_id, action="reply_retried",
                           details={"message_id": message.id}, created_at=now))
    return item


def outgoing_reply(session: Session, message: Message) -> OutgoingReply:
    """What the connector needs to post this message."""
    conv = session.get(Conversation, message.conversation_id)
    assert conv is not None
    contact = session.get(Contact, conv.contact_id) if conv.contact_id else None
    target = _stored_target(session, message) if message.in_reply_to_external_id \
        else reply_target(session, conv)  # queued before targets were kept
    extra: dict[str, object] = {}
    if conv.last_inbound_at is not None:
        # The connector picks the Messenger message type (or refuses) from these.
        extra["last_customer_message_at"] = conv.last_inbound_at
    if target is not None:
        extra["comment_created_at"] = target.created_at
        if isinstance(target.raw, dict) and "can_reply_privately" in target.raw:
            extra["can_reply_privately"] = target.raw["can_reply_privately"]
    return OutgoingReply(
        thread_kind=ThreadKind(conv.thread_kind), external_thread_id=conv.external_thread_id,
        text=message.text,
        in_reply_to=message.in_reply_to_external_id or (target.external_id if target else None),
        recipient_id=contact.external_id if contact else None, private=message.is_private,
        idempotency_key=f"switchboard-message-{message.id}", extra=extra,
    )


def _stored_target(session: Session, message: Message) -> Message | None:
    return session.scalars(
        select(Message).where(Message.platform == message.platform,
                              Message.external_id == message.in_reply_to_external_id)
    ).first()
