"""Graph API JSON -> normalized messages, and the cursor both Facebook streams share.

Every field beyond `id` is optional here: a comment without `from` (Graph leaves it out when
the commenter's profile is not visible to the app) or without `created_time` still becomes a
message, because a message we drop is a customer nobody answers.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from connectors.base import Author, InboundMessage, Platform, ThreadKind

log = logging.getLogger(__name__)

Payload = dict[str, Any]
UNKNOWN_AUTHOR = "unknown"
FACEBOOK_WWW = "https://www.facebook.com"

# `parent{id}` threads replies under their top-level comment; `can_reply_privately` tells
# the composer whether a private reply is still possible.
COMMENT_FIELDS = "id,from,message,created_time,permalink_url,parent{id},can_reply_privately"
MESSAGE_FIELDS = "id,message,from,to,created_time"


def feed_fields(comment_limit: int) -> str:
    """Posts with their comments nested. `filter(stream)` includes replies (the default,
    `toplevel`, hides them); newest first, so paging can stop at the cursor."""
    comments = f"comments.filter(stream).order(reverse_chronological).limit({comment_limit})"
    return f"id,from,message,created_time,permalink_url,{comments}{{{COMMENT_FIELDS}}}"


def conversation_fields(message_limit: int) -> str:
    return f"id,link,participants,updated_time,messages.limit({message_limit}){{{MESSAGE_FIELDS}}}"


def parse_time(value: Any) -> datetime | None:
    """Graph timestamps look like 2024-06-01T12:00:00+0000; anything unreadable is None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None


def as_aware(value: Any) -> datetime | None:
    """A datetime the app passed in `reply.extra`: aware, naive (taken as UTC) or ISO text."""
    if isinstance(value, str):
        value = parse_time(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def obj(value: Any) -> Payload:
    return value if isinstance(value, dict) else {}


def edge(value: Any) -> list[Payload]:
    """The items of an edge ({"data": [...]}), skipping any without an id."""
    data = obj(value).get("data")
    if not isinstance(data, list):
        return []
    items = [item for item in data if isinstance(item, dict) and item.get("id") is not None]
    if len(items) != len(data):
        log.warning("a Graph edge held %d items without an id", len(data) - len(items))
    return items


def next_url(value: Any) -> str | None:
    url = obj(obj(value).get("paging")).get("next")
    return url if isinstance(url, str) and url else None


def author_from(sender: Any, known: dict[str, Payload] | None = None) -> Author:
    """`from` (or a participant) as an Author; `known` fills in names `from` left out."""
    sender = obj(sender)
    if sender.get("id") is None:
        return Author(external_id=UNKNOWN_AUTHOR)
    sender_id = str(sender["id"])
    merged = {**(known or {}).get(sender_id, {}), **sender}
    link = merged.get("link") or merged.get("profile_url")
    return Author(
        external_id=sender_id,
        name=merged.get("name") if isinstance(merged.get("name"), str) else None,
        profile_url=link if isinstance(link, str) else None,
    )


def text_of(item: Payload) -> str:
    text = item.get("message")
    return text if isinstance(text, str) else ""


def post_message(post: Payload, page_id: str) -> InboundMessage:
    """A visitor post on the Page: the first message of a thread keyed by the post id."""
    author = author_from(post.get("from"))
    raw = {key: value for key, value in post.items() if key != "comments"}
    return InboundMessage(
        platform=Platform.FACEBOOK,
        external_id=str(post["id"]),
        thread_kind=ThreadKind.FB_COMMENT,
        external_thread_id=str(post["id"]),
        author=author,
        text=text_of(post),
        created_at=parse_time(post.get("created_time")),
        is_own=author.external_id == page_id,
        url=_url(post.get("permalink_url")),
        raw=raw,
    )


def comment_message(comment: Payload, post: Payload, page_id: str) -> InboundMessage:
    """One comment. On the Page's own posts each top-level comment is a thread and its
    replies belong to it; on a visitor post the whole post is one thread."""
    post_id = str(post.get("id", ""))
    parent = obj(comment.get("parent")).get("id")
    visitor_post = str(obj(post.get("from")).get("id", page_id)) != page_id
    in_reply_to: str | None
    if visitor_post and post_id:
        thread, in_reply_to = post_id, str(parent or post_id)
    else:
        thread = str(parent or comment["id"])
        in_reply_to = str(parent) if parent else None
    author = author_from(comment.get("from"))
    # The post is context an agent needs ("which offer is this about?"), kept beside the comment.
    context = {key: post[key] for key in ("id", "message", "permalink_url") if key in post}
    return InboundMessage(
        platform=Platform.FACEBOOK,
        external_id=str(comment["id"]),
        thread_kind=ThreadKind.FB_COMMENT,
        external_thread_id=thread,
        author=author,
        text=text_of(comment),
        created_at=parse_time(comment.get("created_time")),
        in_reply_to=in_reply_to,
        is_own=author.external_id == page_id,
        url=_url(comment.get("permalink_url")),
        raw={**comment, "post": context},
    )


def participants_of(conversation: Payload) -> dict[str, Payload]:
    return {str(p["id"]): p for p in edge(conversation.get("participants"))}


def messenger_message(message: Payload, conversation: Payload, page_id: str) -> InboundMessage:
    """One Messenger message; without `from` it is taken as the customer's (never dropped)."""
    participants = participants_of(conversation)
    sender = message.get("from")
    if obj(sender).get("id") is None:
        customers = [p for pid, p in participants.items() if pid != page_id]
        sender = customers[0] if customers else None
    author = author_from(sender, participants)
    link = conversation.get("link")
    return InboundMessage(
        platform=Platform.FACEBOOK,
        external_id=str(message["id"]),
        thread_kind=ThreadKind.FB_MESSENGER,
        external_thread_id=str(conversation["id"]),
        author=author,
        text=text_of(message),
        created_at=parse_time(message.get("created_time")),
        is_own=author.external_id == page_id,
        url=urljoin(FACEBOOK_WWW, link) if isinstance(link, str) and link else None,
        raw={**message, "conversation_id": str(conversation["id"])},
    )


def comparable_text(text: str) -> str:
    """Text as Graph may echo it back: entities unescaped, whitespace collapsed."""
    return " ".join(html.unescape(text).split())


def _url(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith("http") else None


@dataclass(frozen=True, slots=True)
class StreamCursor:
    """Where a Facebook stream stands.

    Graph has no "since id": the streams are read by time. `since` (epoch seconds) is the
    oldest creation time still worth reading, deliberately a few minutes before the newest
    message seen (second-resolution timestamps, clocks that disagree, comments that become
    visible late). `seen` holds the ids at or after `since` already returned, so that overlap
    does not come back as duplicates; past its cap some would (ingest ignores them anyway).
    `resume` and `mark` continue a run that stopped at the page cap: the next page's URL
    (without the token), and when that run started (`since` may not pass it until it ends).
    """

    since: int | None = None
    seen: frozenset[str] = frozenset()
    resume: str | None = None
    mark: int | None = None

    @classmethod
    def parse(cls, raw: str | None) -> StreamCursor:
        if not raw:
            return cls()
        if raw.isdigit():
            return cls(since=int(raw))
        try:
            data = json.loads(raw)
            return cls(
                since=int(data["since"]) if data.get("since") is not None else None,
                seen=frozenset(str(i) for i in data.get("seen", [])),
                resume=str(data["resume"]) if data.get("resume") else None,
                mark=int(data["mark"]) if data.get("mark") is not None else None,
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            # Unreadable: read the initial window again; ingest drops what it already has.
            log.warning("unreadable Facebook cursor %r, reading from the start", raw[:80])
            return cls()

    def encode(self) -> str:
        data: dict[str, Any] = {"since": self.since}
        if self.seen:
            data["seen"] = sorted(self.seen)
        if self.resume:
            data["resume"], data["mark"] = self.resume, self.mark
        return json.dumps(data, separators=(",", ":"))
