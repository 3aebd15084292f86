"""X API v2 JSON -> normalized messages.

Every field beyond `id` is optional here: a default-field response (no expansions, no
`created_at`, no `sender_id`) still yields one message per tweet or event, because a message
we drop is a customer nobody answers.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from connectors.base import Author, InboundMessage, Platform, ThreadKind

UNKNOWN_AUTHOR = "unknown"

# Fields asked for on every tweet read; note_tweet carries the full text of posts over 280
# characters (X Premium), whose `text` is cut short.
TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "entities",
    "note_tweet",
]
USER_FIELDS = ["username", "name", "profile_image_url", "public_metrics"]
DM_EVENT_FIELDS = [
    "id",
    "event_type",
    "text",
    "sender_id",
    "created_at",
    "dm_conversation_id",
    "attachments",
    "referenced_tweets",
]


def as_int(value: Any) -> int | None:
    """An X id as a number (ids are decimal strings), or None when it is not one."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def parse_time(value: Any) -> datetime | None:
    """X timestamps look like 2024-06-01T12:00:00.000Z; anything unreadable becomes None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def users_by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `includes.users` expansion keyed by id; empty when the expansion is absent."""
    includes = payload.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    if not isinstance(users, list):
        return {}
    return {str(u["id"]): u for u in users if isinstance(u, dict) and "id" in u}


def author_from(user_id: Any, users: dict[str, dict[str, Any]]) -> Author:
    if user_id is None:
        return Author(external_id=UNKNOWN_AUTHOR)
    user = users.get(str(user_id), {})
    username = user.get("username")
    metrics = user.get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    return Author(
        external_id=str(user_id),
        handle=username,
        name=user.get("name"),
        avatar_url=user.get("profile_image_url"),
        profile_url=f"https://x.com/{username}" if username else None,
        follower_count=followers if isinstance(followers, int) else None,
    )


def replied_to(item: dict[str, Any]) -> str | None:
    refs = item.get("referenced_tweets")
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def tweet_text(tweet: dict[str, Any]) -> str:
    note = tweet.get("note_tweet")
    full = note.get("text") if isinstance(note, dict) else None
    if isinstance(full, str):
        return full
    text = tweet.get("text")
    return text if isinstance(text, str) else ""


def tweet_message(
    tweet: dict[str, Any],
    users: dict[str, dict[str, Any]],
    account_id: str | None,
    *,
    own: bool = False,
) -> InboundMessage:
    """One tweet of a mentions or timeline page; `own` forces is_own (the brand's timeline)."""
    tweet_id = str(tweet["id"])
    author = author_from(tweet.get("author_id"), users)
    is_own = own or (account_id is not None and author.external_id == account_id)
    return InboundMessage(
        platform=Platform.X,
        external_id=tweet_id,
        thread_kind=ThreadKind.X_MENTION,
        external_thread_id=str(tweet.get("conversation_id") or tweet_id),
        author=author,
        text=tweet_text(tweet),
        created_at=parse_time(tweet.get("created_at")),
        in_reply_to=replied_to(tweet),
        is_own=is_own,
        url=f"https://x.com/{author.handle}/status/{tweet_id}" if author.handle else None,
        raw=tweet,
    )


def dm_message(
    event: dict[str, Any], users: dict[str, dict[str, Any]], account_id: str | None
) -> InboundMessage:
    """One DM event; other event types (joins, leaves) are kept too, with the text they have."""
    event_id = str(event["id"])
    sender = event.get("sender_id")
    author = author_from(sender, users)
    thread = event.get("dm_conversation_id") or f"unknown-{sender or event_id}"
    text = event.get("text")
    return InboundMessage(
        platform=Platform.X,
        external_id=event_id,
        thread_kind=ThreadKind.X_DM,
        external_thread_id=str(thread),
        author=author,
        text=text if isinstance(text, str) else "",
        created_at=parse_time(event.get("created_at")),
        is_own=account_id is not None and author.external_id == account_id,
        raw=event,
    )


_URL = re.compile(r"https?://\S+")
_LEADING_MENTIONS = re.compile(r"^(?:@\w+\s+)+")


def comparable_text(text: str) -> str:
    """Text as X may echo it back: entities unescaped, links shortened to t.co, reply @-prefix."""
    text = html.unescape(text)
    text = _URL.sub("<url>", text)
    text = " ".join(text.split())
    return _LEADING_MENTIONS.sub("", text + " ").strip()
