"""What a Facebook reply turns into on the wire, and the windows that decide whether it may.

Everything here is decided before any request: a reply the platform would refuse (too long,
outside Messenger's 7 days, a private reply to an old comment) is refused with a message the
composer can show, and nothing is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from connectors.base import TEXT_LIMITS, OutgoingReply, Permanent, ThreadKind
from connectors.facebook_payloads import as_aware

MessengerWindow = Literal["response", "human_agent", "closed"]
RESPONSE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
# A reply is checked here and lands a moment later: each window closes a minute early, so a
# reply does not slip past it in transit (HUMAN_AGENT is valid inside the 24 hours too).
MARGIN = timedelta(minutes=1)
MESSENGER_CLOSED = "Messenger only allows replies within 7 days of the person's last message"
PRIVATE_CLOSED = ("Facebook only allows a private reply within 7 days of the comment: "
                  "answer in public instead, or wait until the person writes in Messenger")

Send = tuple[str, dict[str, Any], str]  # path, form fields, what (for error messages)


def _age(moment: datetime, now: datetime | None) -> timedelta:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - moment


def messenger_window(last_customer_message_at: datetime | None,
                     now: datetime | None = None) -> MessengerWindow:
    """Which Messenger reply is allowed now: "response" inside 24 hours of the person's last
    message, "human_agent" (the HUMAN_AGENT tag) up to 7 days, else "closed".

    An unknown last message counts as inside the window (the platform still checks)."""
    if last_customer_message_at is None:
        return "response"
    age = _age(last_customer_message_at, now)
    if age < RESPONSE_WINDOW - MARGIN:
        return "response"
    if age < HUMAN_AGENT_WINDOW - MARGIN:
        return "human_agent"
    return "closed"


def private_reply_open(comment_created_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a private reply to a comment is still allowed (7 days); unknown -> True."""
    if comment_created_at is None:
        return True
    return _age(comment_created_at, now) < PRIVATE_REPLY_WINDOW - MARGIN


def _check_length(reply: OutgoingReply, kind: ThreadKind, private: bool, what: str) -> None:
    limit = TEXT_LIMITS[(kind, private)]
    if len(reply.text) > limit:
        raise Permanent(f"{what} has at most {limit} characters, this reply has "
                        f"{len(reply.text)}")


def _message(text: str) -> str:
    return json.dumps({"text": text})


def prepare_send(reply: OutgoingReply, page_id: Callable[[], str],
                 psid_of: Callable[[str], str], now: datetime | None = None) -> Send:
    """The request for `reply`. `page_id` and `psid_of` may call the API, so they are only
    asked once the reply is known to be allowed."""
    if not reply.text.strip():
        raise Permanent("the reply is empty")
    target = reply.in_reply_to or reply.external_thread_id
    if reply.thread_kind is ThreadKind.FB_COMMENT and not reply.private:
        _check_length(reply, ThreadKind.FB_COMMENT, False, "a Facebook comment")
        if not target:
            raise Permanent("a comment reply needs the id of the comment it answers")
        return f"{target}/comments", {"message": reply.text}, "post comment reply"
    if reply.thread_kind is ThreadKind.FB_COMMENT:
        _check_length(reply, ThreadKind.FB_COMMENT, True, "a private reply")
        if not private_reply_open(as_aware(reply.extra.get("comment_created_at")), now):
            raise Permanent(PRIVATE_CLOSED)
        if reply.extra.get("can_reply_privately") is False:
            raise Permanent("Facebook does not allow a private reply to this comment (it was "
                            "already answered privately, or the person cannot be messaged)")
        if not target:
            raise Permanent("a private reply needs the id of the comment it answers")
        page = page_id()
        # A visitor post (<page_id>_<n>) is answered by post_id, a comment by comment_id.
        key = "post_id" if target.startswith(f"{page}_") else "comment_id"
        return (f"{page}/messages", {"recipient": json.dumps({key: target}),
                                     "message": _message(reply.text)}, "send private reply")
    if reply.thread_kind is ThreadKind.FB_MESSENGER:
        _check_length(reply, ThreadKind.FB_MESSENGER, False, "a Messenger message")
        last = as_aware(reply.extra.get("last_customer_message_at"))
        window = messenger_window(last, now)
        if window == "closed":
            assert last is not None
            raise Permanent(f"{MESSENGER_CLOSED}; the last one was {_age(last, now).days} days "
                            "ago")
        thread = reply.external_thread_id
        if not reply.recipient_id and not thread.startswith("t_"):
            raise Permanent("a Messenger reply needs the person's id or the conversation id")
        page = page_id()
        data: dict[str, Any] = {
            "recipient": json.dumps({"id": reply.recipient_id or psid_of(thread)}),
            "message": _message(reply.text),
            "messaging_type": "RESPONSE" if window == "response" else "MESSAGE_TAG",
        }
        if window == "human_agent":
            data["tag"] = "HUMAN_AGENT"  # human-typed replies only, which ours are
        return f"{page}/messages", data, "send Messenger message"
    raise Permanent(f"the Facebook connector cannot answer a {reply.thread_kind} thread")
