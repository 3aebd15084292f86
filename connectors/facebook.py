"""Facebook Page comments and Messenger through facebook-sdk 3.1.0 (Graph API v21.0).

How the comments stream reads: `since` on /{page}/feed filters *posts* by their creation time,
so a cursor passed there would hide new comments on older posts. Instead every fetch reads the
posts of the last `post_window_days` (feed `since` = that window) with their comments nested
newest first, and keeps the comments created at or after the cursor. Comments on posts older
than the window are not polled (Meta's webhooks are the way to get those).

Messenger: /{page}/conversations is ordered by updated_time and has no time filter, so reading
stops at the first conversation last updated before the cursor.

Both cursors are times with a small overlap plus the ids already returned (StreamCursor): a
second fetch with the returned cursor brings nothing it brought before, except when more than
`max_seen` messages fall in the overlap (those come back once; ingest ignores them). A first
fetch reads `initial_days` back.

Sending, and the Messenger windows the composer asks about, are in facebook_sender.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

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
)
from connectors.facebook_graph import GraphClient, without_token
from connectors.facebook_payloads import (
    Payload,
    StreamCursor,
    comment_message,
    comparable_text,
    conversation_fields,
    edge,
    epoch,
    feed_fields,
    messenger_message,
    next_url,
    obj,
    parse_time,
    participants_of,
    post_message,
)
from connectors.facebook_sender import messenger_window, prepare_send, private_reply_open

log = logging.getLogger(__name__)

Scanned = dict[str, int | None]  # id -> creation time (epoch) of everything read this run


class FacebookConnector:
    """One connected Facebook Page. Credentials: `page_token` (and optionally `page_id`)."""

    platform: ClassVar[Platform] = Platform.FACEBOOK
    streams: ClassVar[tuple[str, ...]] = ("comments", "messenger")
    page_size: int = 25
    nested_size: int = 50
    max_pages: int = 40  # top-level pages per fetch; a longer run resumes on the next fetch
    max_nested_pages: int = 10  # more pages of one post's comments or one conversation
    find_sent_pages: int = 5
    post_window_days: int = 30
    initial_days: int = 7  # the first fetch of a stream reads this far back
    overlap_seconds: int = 300
    max_seen: int = 500
    max_comment_chars: ClassVar[int] = TEXT_LIMITS[(ThreadKind.FB_COMMENT, False)]
    max_messenger_chars: ClassVar[int] = TEXT_LIMITS[(ThreadKind.FB_MESSENGER, False)]

    def __init__(
        self,
        *,
        credentials: dict[str, str],
        account_external_id: str | None = None,
        api_base_url: str | None = None,
        timeout: float = 10.0,
        graph_version: str = "v21.0",
    ) -> None:
        token = credentials.get("page_token")
        if not token:
            raise AuthExpired("Facebook credentials need a page_token")
        self._graph = GraphClient(token, base_url=api_base_url, timeout=timeout,
                                  version=graph_version)
        self._page_id = account_external_id or credentials.get("page_id") or None

    # -- Connector protocol -------------------------------------------------------------

    def verify(self) -> Identity:
        # /me with a Page token is the Page: this also proves the token belongs to it.
        data = self._graph.get("me", "verify", fields="id,name,username")
        if data.get("id") is None:
            raise Transient("Facebook answered /me without an id")
        page_id = str(data["id"])
        if self._page_id is not None and page_id != self._page_id:
            raise AuthExpired(f"this token belongs to {page_id}, not to Page {self._page_id}: "
                              "connect the Page again with its own Page token")
        self._page_id = page_id
        handle = data.get("username") or data.get("name")
        return Identity(external_id=page_id, handle=handle, name=data.get("name"))

    def fetch(self, stream: str, cursor: str | None) -> Batch:
        if stream not in self.streams:
            raise Permanent(f"Facebook has no stream {stream!r}; known: {', '.join(self.streams)}")
        self._graph.calls = 0
        page = self._page()
        parsed = StreamCursor.parse(cursor)
        now = int(time.time())
        since = parsed.since if parsed.since is not None else now - self.initial_days * 86400
        if stream == "comments":
            window = min(since, now - self.post_window_days * 86400)
            path = f"{page}/feed"
            args: dict[str, Any] = {"fields": feed_fields(self.nested_size), "since": window}
            read: Callable[[Payload, int, Scanned], Iterator[InboundMessage]] = self._post_items
        else:
            path = f"{page}/conversations"
            args = {"platform": "messenger", "fields": conversation_fields(self.nested_size)}
            read = self._conversation_items
        try:
            return self._scan(path, args, read, parsed, since, now)
        except Permanent:
            if parsed.resume is None:
                raise
            # A stale paging cursor must not wedge the stream: start that run over.
            log.warning("Facebook %s: resume cursor refused, reading again", stream)
            fresh = StreamCursor(since=parsed.since, seen=parsed.seen)
            return self._scan(path, args, read, fresh, since, now)

    def send(self, reply: OutgoingReply) -> str:
        path, data, what = prepare_send(reply, self._page, self._psid)
        return self._created_id(self._graph.post(path, what, **data), what)

    # -- outbox reconciliation ------------------------------------------------------------

    def find_sent(self, reply: OutgoingReply, since: datetime) -> str | None:
        """The id of `reply` if the Page already posted it (before a crash), else None."""
        page = self._page()
        want = comparable_text(reply.text)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)

        def ours(item: Payload) -> bool:
            created = parse_time(item.get("created_time"))
            return (str(obj(item.get("from")).get("id")) == page
                    and (created is None or created >= since)
                    and comparable_text(str(item.get("message", ""))) == want)

        if reply.thread_kind is ThreadKind.FB_COMMENT and not reply.private:
            # A reply to a reply is filed under the top-level comment: look in both.
            for target in dict.fromkeys(filter(None, (reply.in_reply_to,
                                                      reply.external_thread_id))):
                args = {"fields": "id,from,message,created_time", "filter": "stream",
                        "order": "reverse_chronological", "limit": 100}
                found = self._find(f"{target}/comments", args, ours, since)
                if found:
                    return found
            return None
        thread = reply.external_thread_id
        if reply.thread_kind is ThreadKind.FB_MESSENGER and thread.startswith("t_"):
            args = {"fields": "id,from,message,created_time", "limit": 50}
            return self._find(f"{thread}/messages", args, ours, since)
        # A private reply: in whichever conversation it opened, updated since `since`.
        args = {"platform": "messenger", "fields": conversation_fields(25)}
        for payload in self._pages(f"{page}/conversations", args, self.find_sent_pages):
            for conversation in edge(payload):
                updated = parse_time(conversation.get("updated_time"))
                if updated is not None and updated < since:
                    return None
                for message in edge(conversation.get("messages")):
                    if ours(message):
                        return str(message["id"])
        return None

    # -- reading ------------------------------------------------------------------------

    def _page(self) -> str:
        if self._page_id is None:
            self.verify()
        assert self._page_id is not None
        return self._page_id

    def _pages(self, path: str, args: dict[str, Any], limit: int,
               resume: str | None = None) -> Iterator[Payload]:
        """Top-level pages (from a stored next URL when resuming), at most `limit` of them."""
        if resume:
            payload = self._graph.follow(resume, path)
        else:
            payload = self._graph.get(path, path, **{"limit": self.page_size, **args})
        for n in range(1, limit + 1):
            yield payload
            url = next_url(payload)
            if url is None or n == limit:
                return
            payload = self._graph.follow(url, path)

    def _nested(self, holder: Payload, key: str, since: int) -> Iterator[Payload]:
        """A nested edge, asked for newest first; further pages are read until one reaches
        past `since`. Should a page come oldest first after all, all pages are read."""
        page: Payload = obj(holder.get(key))
        for n in range(self.max_nested_pages + 1):
            items = edge(page)
            yield from items
            url = next_url(page)
            times = [epoch(parse_time(item.get("created_time"))) for item in items]
            first, last = (times[0], times[-1]) if times else (None, None)
            newest_first = first is None or last is None or first >= last
            if url is None or (newest_first and last is not None and last < since):
                return
            if n == self.max_nested_pages:
                break
            page = self._graph.follow(url, f"{holder.get('id')}/{key}")
        log.warning("Facebook %s of %s: stopped after %d pages", key, holder.get("id"),
                    self.max_nested_pages)

    def _post_items(self, post: Payload, since: int, scanned: Scanned) -> Iterator[InboundMessage]:
        page = self._page()
        author = str(obj(post.get("from")).get("id", page))
        created = epoch(parse_time(post.get("created_time")))
        if author != page and (created is None or created >= since):
            scanned[str(post["id"])] = created
            yield post_message(post, page)
        for comment in self._nested(post, "comments", since):
            when = epoch(parse_time(comment.get("created_time")))
            if when is None or when >= since:
                scanned[str(comment["id"])] = when
                yield comment_message(comment, post, page)

    def _conversation_items(self, conversation: Payload, since: int,
                            scanned: Scanned) -> Iterator[InboundMessage]:
        page = self._page()
        for message in self._nested(conversation, "messages", since):
            when = epoch(parse_time(message.get("created_time")))
            if when is None or when >= since:
                scanned[str(message["id"])] = when
                yield messenger_message(message, conversation, page)

    def _scan(self, path: str, args: dict[str, Any],
              read: Callable[[Payload, int, Scanned], Iterator[InboundMessage]],
              cursor: StreamCursor, since: int, now: int) -> Batch:
        messages: list[InboundMessage] = []
        scanned: Scanned = {}
        pages, reached_old, last = 0, False, None
        read_through: Payload | None = None  # the last page wholly read
        conversations = path.endswith("/conversations")
        start = cursor.mark if cursor.mark is not None else now
        try:
            for last in self._pages(path, args, self.max_pages, cursor.resume):
                found: list[InboundMessage] = []  # kept once the whole page is read
                for item in edge(last):
                    updated = epoch(parse_time(item.get("updated_time")))
                    if conversations and updated is not None and updated < since:
                        reached_old = True  # ordered by updated_time: the rest is older still
                        break
                    found += [m for m in read(item, since, scanned)
                              if m.external_id not in cursor.seen]
                messages += found
                pages, read_through = pages + 1, last
                if reached_old:
                    break
        except (RateLimited, Transient) as exc:
            # The failure came reading the page after read_through, or one of its nested
            # pages: the next fetch goes on with that page, the ones before are kept.
            resume = next_url(read_through) if read_through is not None else None
            if resume is None:
                raise
            return self._partial(messages, cursor, since, start, scanned, resume,
                                 interrupted=exc)
        # A next page left unread means the page cap stopped this run: the next fetch goes on
        # from there, and the cursor's time stays where it was until the run is complete.
        unread = None if reached_old or last is None else next_url(last)
        if unread is not None:
            log.warning("Facebook %s: stopped after %d pages, resuming next fetch", path, pages)
            return self._partial(messages, cursor, since, start, scanned, unread)
        times = [t for t in scanned.values() if t is not None]
        anchor = min(max(times), start) if times else start
        new_since = max(since, anchor - self.overlap_seconds)
        kept = {i for i, t in scanned.items() if t is None or t >= new_since}
        if cursor.resume:
            kept |= cursor.seen  # what the earlier parts of this run returned
        next_cursor = StreamCursor(since=new_since, seen=self._cap(kept, scanned))
        return Batch(messages, next_cursor.encode(), api_calls=self._graph.calls)

    def _partial(self, messages: list[InboundMessage], cursor: StreamCursor, since: int,
                 start: int, scanned: Scanned, unread: str,
                 interrupted: ConnectorError | None = None) -> Batch:
        """A run stopped before its end: resume at `unread`, the cursor's time unchanged."""
        seen = self._cap(set(cursor.seen) | {m.external_id for m in messages}, scanned)
        next_cursor = StreamCursor(since=since, seen=seen, resume=without_token(unread),
                                   mark=start)
        return Batch(messages, next_cursor.encode(), has_more=interrupted is None,
                     api_calls=self._graph.calls, interrupted=interrupted)

    def _cap(self, ids: set[str], scanned: Scanned) -> frozenset[str]:
        """At most max_seen ids, the newest kept: the others may come back once as duplicates."""
        if len(ids) <= self.max_seen:
            return frozenset(ids)
        newest = sorted(ids, key=lambda i: scanned.get(i) or 0, reverse=True)
        return frozenset(newest[: self.max_seen])

    def _find(self, path: str, args: dict[str, Any], match: Callable[[Payload], bool],
              since: datetime) -> str | None:
        for payload in self._pages(path, args, self.find_sent_pages):
            for item in edge(payload):
                if match(item):
                    return str(item["id"])
                created = parse_time(item.get("created_time"))
                if created is not None and created < since:
                    return None  # newest first: everything further is older
        return None

    # -- sending ------------------------------------------------------------------------

    def _psid(self, thread_id: str) -> str:
        """The customer's page-scoped id in a Messenger thread (the Send API needs it)."""
        data = self._graph.get(thread_id, "look up the conversation", fields="participants")
        page = self._page()
        people = [pid for pid in participants_of(data) if pid != page]
        if not people:
            raise Permanent(f"conversation {thread_id} has no participant to answer")
        return people[0]

    @staticmethod
    def _created_id(payload: Payload, what: str) -> str:
        created = payload.get("message_id") or payload.get("id")
        if created is None:
            # Maybe posted, maybe not: Transient makes the worker reconcile via find_sent.
            raise Transient(f"{what}: Facebook confirmed without an id: {payload!r:.200}")
        return str(created)


# The composer asks these before offering a reply; they live beside the send rules.
__all__ = ["FacebookConnector", "messenger_window", "private_reply_open"]
