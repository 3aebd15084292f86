"""X (Twitter) API v2 through tweepy: mentions, direct messages and the account's own posts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

import requests
import tweepy

from connectors.base import (
    TEXT_LIMITS,
    AuthExpired,
    Batch,
    ConnectorError,
    Identity,
    InboundMessage,
    OutgoingReply,
    Permanent,
    Platform,
    RateLimited,
    ThreadKind,
    Transient,
    counted_length,
)
from connectors.http import RedirectSession
from connectors.twitter_payloads import (
    DM_EVENT_FIELDS,
    TWEET_FIELDS,
    USER_FIELDS,
    as_int,
    comparable_text,
    dm_message,
    parse_time,
    replied_to,
    tweet_message,
    users_by_id,
)

log = logging.getLogger(__name__)

OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")

Payload = dict[str, Any]
Convert = Callable[[Payload, dict[str, Payload]], InboundMessage]


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where a stream stands: the newest id stored, plus how to resume an interrupted run.

    A run that stops at the page cap must not jump its cursor past the pages it never read,
    so it remembers the next page token and the newest id to store once the rest is read.
    """

    since: str | None
    resume_token: str | None = None
    resume_newest: str | None = None

    @classmethod
    def parse(cls, cursor: str | None) -> _Cursor:
        if cursor and cursor.startswith("resume:"):
            parts = cursor.split(":", 3)
            if len(parts) == 4 and parts[3]:
                _, newest, since, token = parts
                return cls(since=since or None, resume_token=token, resume_newest=newest or None)
            return cls(since=None)  # unreadable: read again from the start, stores dedupe
        return cls(since=cursor or None)

    def encode_resume(self, newest: str | None, token: str) -> str:
        return f"resume:{newest or ''}:{self.since or ''}:{token}"


# What a call may raise besides tweepy's HTTP errors: network failures and unreadable bodies
# (requests.JSONDecodeError is both a RequestException and a ValueError). Anything else,
# e.g. a TypeError, is a bug here and should surface as one.
CALL_FAILURES = (tweepy.TweepyException, requests.RequestException, ValueError, OSError)


def _error(exc: Exception, what: str) -> ConnectorError:
    """Map tweepy and requests failures onto the four classes the worker acts on."""
    if isinstance(exc, tweepy.TooManyRequests):
        return RateLimited(f"{what}: {exc}", reset_at=exc.reset_time)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthExpired(f"{what}: {exc}")
    if isinstance(exc, tweepy.Forbidden) and _access_refused(exc):
        # The token lacks a permission (DMs need "Read, Write and Direct Messages"): this
        # stream fails alike until someone reconnects the account, and the error says so.
        # Permanent, not AuthExpired: the account's other streams still work.
        return Permanent(f"{what}: X refused this account's access ({exc}); reconnect it "
                         "with the permissions Switchboard needs")
    if isinstance(exc, tweepy.HTTPException) and 400 <= exc.response.status_code < 500:
        return Permanent(f"{what}: {exc}")
    return Transient(f"{what}: {type(exc).__name__}: {exc}")


# platforms.md A6: code 93 (no DM permission) and the problem types that say the token,
# not the request, is at fault.
ACCESS_CODES = {93}
ACCESS_PROBLEMS = ("client-forbidden", "unsupported-authentication",
                   "not-authorized-for-resource")


def _access_refused(exc: tweepy.HTTPException) -> bool:
    if ACCESS_CODES & set(exc.api_codes):
        return True
    try:
        body = exc.response.json()
    except ValueError:
        return False
    problems = [body, *body.get("errors", [])] if isinstance(body, dict) else []
    return any(isinstance(p, dict) and str(p.get("type", "")).endswith(ACCESS_PROBLEMS)
               for p in problems)


def _next_token(payload: Payload) -> str | None:
    meta = payload.get("meta")
    token = meta.get("next_token") if isinstance(meta, dict) else None
    return str(token) if token else None


def _items(payload: Payload) -> list[Payload]:
    data = payload.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise Transient(f"X answered a page whose data is not a list: {type(data).__name__}")
    items = [item for item in data if isinstance(item, dict) and item.get("id") is not None]
    if len(items) != len(data):
        # Without an id nothing can be stored or deduplicated; say so rather than fail the batch.
        log.warning("X page held %d items without an id", len(data) - len(items))
    return items


class TwitterConnector:
    """One connected X account. Credentials: `bearer_token` and/or the four OAuth 1.0a keys.

    With only a bearer token, pass `account_external_id` (app-only tokens cannot call
    /2/users/me) and expect DMs and posting to need an OAuth 2.0 user token.
    """

    platform: ClassVar[Platform] = Platform.X
    streams: ClassVar[tuple[str, ...]] = ("mentions", "dms", "own_tweets")
    max_pages: int = 50
    find_sent_pages: int = 10
    page_size: int = 100
    max_tweet_chars: ClassVar[int] = TEXT_LIMITS[(ThreadKind.X_MENTION, False)]
    max_dm_chars: ClassVar[int] = TEXT_LIMITS[(ThreadKind.X_DM, False)]

    def __init__(
        self,
        *,
        credentials: dict[str, str],
        account_external_id: str | None = None,
        api_base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        bearer = credentials.get("bearer_token") or None
        # OAuth 1.0a wins when present: a bearer-only call to a user endpoint would fail.
        self._user_auth = all(credentials.get(key) for key in OAUTH1_KEYS)
        if not bearer and not self._user_auth:
            raise AuthExpired("X credentials need a bearer_token or all four OAuth 1.0a keys")
        self._client = tweepy.Client(
            bearer_token=bearer,
            consumer_key=credentials.get("consumer_key"),
            consumer_secret=credentials.get("consumer_secret"),
            access_token=credentials.get("access_token"),
            access_token_secret=credentials.get("access_token_secret"),
            return_type=dict,
            wait_on_rate_limit=False,  # the worker schedules around RateLimited instead
        )
        self._client.session = RedirectSession(api_base_url, timeout)
        self._account_id = account_external_id
        self._calls = 0

    # -- Connector protocol -------------------------------------------------------------

    def verify(self) -> Identity:
        payload = self._call(self._client.get_me, "verify", user_fields=USER_FIELDS)
        data = payload.get("data")
        if not isinstance(data, dict) or data.get("id") is None:
            raise Transient("X answered /2/users/me without a user")
        identity = Identity(
            external_id=str(data["id"]), handle=data.get("username"), name=data.get("name")
        )
        if self._account_id is None:
            self._account_id = identity.external_id
        return identity

    def fetch(self, stream: str, cursor: str | None) -> Batch:
        if stream not in self.streams:
            raise Permanent(f"X has no stream {stream!r}; known: {', '.join(self.streams)}")
        self._calls = 0
        me = self._me()
        if stream == "dms":
            method = self._client.get_direct_message_events
            params: dict[str, Any] = {"dm_event_fields": DM_EVENT_FIELDS,
                                      "event_types": "MessageCreate", "expansions": "sender_id"}
            convert: Convert = partial(dm_message, account_id=me)
        else:
            own = stream == "own_tweets"
            method = self._client.get_users_tweets if own else self._client.get_users_mentions
            params = {"id": me, "tweet_fields": TWEET_FIELDS, "expansions": "author_id"}
            convert = partial(tweet_message, account_id=me, own=own)
        parsed = _Cursor.parse(cursor)
        try:
            return self._collect(stream, method, params, convert, parsed)
        except Permanent:
            if parsed.resume_token is None:
                raise
            # A stale page token must not wedge the stream: read again from the stored id.
            log.warning("X %s: resume token refused, reading again from %s", stream, parsed.since)
            return self._collect(stream, method, params, convert, _Cursor(parsed.since))

    def send(self, reply: OutgoingReply) -> str:
        if not reply.text.strip():
            raise Permanent("the reply is empty")
        if reply.thread_kind is ThreadKind.X_DM or reply.private:
            return self._send_dm(reply)
        if reply.thread_kind is not ThreadKind.X_MENTION:
            raise Permanent(f"the X connector cannot answer a {reply.thread_kind} thread")
        length = counted_length(reply.text, ThreadKind.X_MENTION, private=False)
        if length > self.max_tweet_chars:
            raise Permanent(
                f"a post on X has at most {self.max_tweet_chars} characters, X counts this "
                f"reply as {length}: shorten it or answer by direct message"
            )
        if not reply.in_reply_to:
            # Without it the answer would go out as a stand-alone public post.
            raise Permanent("a public reply on X needs the id of the post it answers")
        payload = self._call(
            self._client.create_tweet,
            "post reply",
            text=reply.text,
            in_reply_to_tweet_id=reply.in_reply_to,
        )
        return self._created_id(payload, "id")

    # -- outbox reconciliation ------------------------------------------------------------

    def find_sent(self, reply: OutgoingReply, since: datetime) -> str | None:
        """The id of `reply` if it is already on X (posted before a crash), else None."""
        me = self._me()
        want = comparable_text(reply.text)
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if reply.thread_kind is ThreadKind.X_DM or reply.private:
            params = self._dm_route(reply)
            params.update(dm_event_fields=DM_EVENT_FIELDS, event_types="MessageCreate")
            for event in self._walk_items(self._client.get_direct_message_events, params):
                created = parse_time(event.get("created_at"))
                if created is not None and created < since:
                    return None  # newest first: everything further is older
                sent_by_us = str(event.get("sender_id")) == me
                if sent_by_us and comparable_text(str(event.get("text", ""))) == want:
                    return str(event["id"])
            return None
        params = {"id": me, "tweet_fields": TWEET_FIELDS, "start_time": since}
        for tweet in self._walk_items(self._client.get_users_tweets, params):
            same_target = replied_to(tweet) == reply.in_reply_to
            if same_target and comparable_text(str(tweet.get("text", ""))) == want:
                return str(tweet["id"])
        return None

    # -- internals --------------------------------------------------------------------------

    def _me(self) -> str:
        if self._account_id is None:
            self.verify()
        assert self._account_id is not None
        return self._account_id

    def _call(self, method: Callable[..., Any], what: str, **params: Any) -> Payload:
        self._calls += 1
        args = {key: value for key, value in params.items() if value is not None}
        try:
            payload = method(user_auth=self._user_auth, **args)
        except CALL_FAILURES as exc:
            raise _error(exc, what) from exc
        if not isinstance(payload, dict):
            raise Transient(f"{what}: X answered {type(payload).__name__}, not a JSON object")
        return payload

    def _pages(self, method: Callable[..., Any], params: dict[str, Any], limit: int,
               token: str | None = None) -> Iterator[Payload]:
        """Pages newest first, following meta.next_token at most `limit` times."""
        for _ in range(limit):
            payload = self._call(
                method, method.__name__, max_results=self.page_size, pagination_token=token,
                user_fields=USER_FIELDS, **params,
            )
            yield payload
            token = _next_token(payload)
            if token is None:
                return

    def _walk_items(self, method: Callable[..., Any], params: dict[str, Any]) -> Iterator[Payload]:
        for payload in self._pages(method, params, self.find_sent_pages):
            yield from _items(payload)

    def _collect(
        self,
        stream: str,
        method: Callable[..., Any],
        params: dict[str, Any],
        convert: Convert,
        cursor: _Cursor,
    ) -> Batch:
        since = as_int(cursor.since)
        if stream != "dms" and cursor.since:
            params["since_id"] = cursor.since  # DM events have no since_id (platforms.md A4)
        messages: list[InboundMessage] = []
        newest = as_int(cursor.resume_newest)
        reached_known = False
        pages = 0
        interrupted: ConnectorError | None = None
        token = cursor.resume_token  # the page to read next; None: from the newest
        try:
            for last in self._pages(method, params, self.max_pages, token):
                users, found, ids = users_by_id(last), [], [newest]
                for item in _items(last):
                    item_id = as_int(item["id"])
                    if since is not None and item_id is not None and item_id <= since:
                        reached_known = True  # already stored by an earlier fetch
                        continue
                    found.append(convert(item, users))
                    ids.append(item_id)
                # A page counts once it is wholly read.
                messages += found
                newest = max((i for i in ids if i is not None), default=None)
                pages += 1
                token = None if reached_known else _next_token(last)
                if reached_known:
                    break
        except (RateLimited, Transient) as exc:
            if pages == 0:
                raise
            # Keep the pages read, and go on with the one that failed next time: at 15 DM
            # requests per 15 minutes (platforms.md A8) a backlog read again from its first
            # page after every limit would never end.
            interrupted = exc
        newest_text = str(newest) if newest is not None else cursor.since
        if token is not None:
            log.warning("X %s: stopped after %d pages, resuming next fetch", stream, pages)
            next_cursor: str | None = cursor.encode_resume(newest_text, token)
        else:
            next_cursor = newest_text
        return Batch(messages, next_cursor, has_more=token is not None and interrupted is None,
                     api_calls=self._calls, interrupted=interrupted)

    def _dm_route(self, reply: OutgoingReply) -> dict[str, Any]:
        """Where a direct message goes (and where find_sent looks for it).

        A reply in a DM thread goes into that conversation: in a group, the "with
        participant" route would answer one member privately instead of the group. The
        participant route is for a private answer to a post, and for a DM thread whose
        conversation id X never told us.
        """
        thread = reply.external_thread_id
        if reply.thread_kind is ThreadKind.X_DM and thread and not thread.startswith("unknown-"):
            return {"dm_conversation_id": thread}
        if reply.recipient_id:
            return {"participant_id": reply.recipient_id}
        raise Permanent("a direct message on X needs the recipient's user id")

    def _send_dm(self, reply: OutgoingReply) -> str:
        if len(reply.text) > self.max_dm_chars:
            raise Permanent(f"a direct message on X has at most {self.max_dm_chars} characters")
        route = self._dm_route(reply)
        payload = self._call(
            self._client.create_direct_message, "send direct message", text=reply.text, **route
        )
        return self._created_id(payload, "dm_event_id")

    @staticmethod
    def _created_id(payload: Payload, key: str) -> str:
        data = payload.get("data")
        if not isinstance(data, dict) or data.get(key) is None:
            # Maybe posted, maybe not: Transient makes the worker reconcile via find_sent.
            raise Transient(f"X confirmed the post without {key!r}: {payload!r:.200}")
        return str(data[key])
