"""The contract between connectors and the app: normalized types and error classes.

Connectors speak one platform's API and return these types; they know nothing of
the database. The worker acts on the four error classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from connectors.x_text import weighted_length


class Platform(StrEnum):
    X = "x"
    FACEBOOK = "facebook"


class ThreadKind(StrEnum):
    """How a conversation is keyed on its platform (see design.md, Threads)."""

    X_MENTION = "x_mention"
    X_DM = "x_dm"
    FB_COMMENT = "fb_comment"
    FB_MESSENGER = "fb_messenger"


@dataclass(frozen=True, slots=True)
class Author:
    """A platform identity as the platform shows it."""

    external_id: str
    handle: str | None = None
    name: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None
    follower_count: int | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message as read from a platform, before it touches the store."""

    platform: Platform
    external_id: str
    thread_kind: ThreadKind
    external_thread_id: str
    author: Author
    text: str
    created_at: datetime | None
    in_reply_to: str | None = None
    is_own: bool = False
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Batch:
    """Messages of one fetch and the cursor that covers them.

    `cursor` is an opaque string the connector understands; `None` keeps the old one.
    `has_more` tells the worker to fetch again right away. `interrupted` is the error that
    stopped the fetch after these messages were read (a rate limit on a later page, say):
    the worker stores them and their cursor, then waits as that error says, and the next
    fetch goes on from where this one stopped.
    """

    messages: list[InboundMessage]
    cursor: str | None
    has_more: bool = False
    api_calls: int = 1
    interrupted: ConnectorError | None = None


@dataclass(frozen=True, slots=True)
class OutgoingReply:
    """A reply to post. `in_reply_to` is the platform id the reply answers."""

    thread_kind: ThreadKind
    external_thread_id: str
    text: str
    in_reply_to: str | None = None
    recipient_id: str | None = None
    private: bool = False
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the credentials belong to."""

    external_id: str
    handle: str | None
    name: str | None


class ConnectorError(Exception):
    """Base of the four error classes the worker acts on."""


class RateLimited(ConnectorError):
    """The platform asked us to wait; no call before `reset_at` (epoch seconds)."""

    def __init__(self, message: str, reset_at: float | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class Transient(ConnectorError):
    """Network trouble or a 5xx: retry with backoff."""


class AuthExpired(ConnectorError):
    """Credentials no longer work: stop polling the account until reconnected."""


class Permanent(ConnectorError):
    """This item cannot succeed: record the reason and skip it."""


class Connector(Protocol):
    platform: ClassVar[Platform]
    streams: ClassVar[tuple[str, ...]]

    def fetch(self, stream: str, cursor: str | None) -> Batch: ...

    def send(self, reply: OutgoingReply) -> str: ...

    def verify(self) -> Identity: ...


# Longest text each kind of reply may carry, as `counted_length` counts it; checked before
# anything is stored or sent.
TEXT_LIMITS: dict[tuple[ThreadKind, bool], int] = {
    (ThreadKind.X_MENTION, False): 280,
    (ThreadKind.X_MENTION, True): 10_000,  # answered by DM
    (ThreadKind.X_DM, False): 10_000,
    (ThreadKind.FB_COMMENT, False): 8_000,
    (ThreadKind.FB_COMMENT, True): 2_000,  # private reply through Messenger
    (ThreadKind.FB_MESSENGER, False): 2_000,
}
PUBLIC_KINDS = frozenset({ThreadKind.X_MENTION, ThreadKind.FB_COMMENT})


def counted_length(text: str, kind: ThreadKind, private: bool) -> int:
    """The length of `text` as the platform counts it against TEXT_LIMITS[(kind, private)].

    Only a public X post is weighted (CJK and emoji count 2, links 23); X's direct messages
    and Facebook count characters.
    """
    if kind is ThreadKind.X_MENTION and not private:
        return weighted_length(text)
    return len(text)
