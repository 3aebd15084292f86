"""The simulator's Facebook: Pages, posts, comments and Messenger threads, and the send rules.

Shares SimState's lock, clock and seeded traffic. Nothing here knows HTTP; `graph_api.py`
renders it as Graph JSON. Ids are shaped as Graph shapes them: posts `<page_id>_<n>`, comments
`<post n>_<n>`, threads `t_<n>`, messages `m_<...>`.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.simulator.traffic import Traffic

RESPONSE_WINDOW = timedelta(hours=24)
TAG_WINDOW = timedelta(days=7)  # HUMAN_AGENT, and private replies after the comment
TAGS = {"HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE",
        "CUSTOMER_FEEDBACK"}
MAX_MESSENGER_CHARS = 2000
MAX_COMMENT_CHARS = 8000
OUTSIDE_WINDOW = "(#10) This message is sent outside of allowed window."
ID_BASE = 10**14  # 15-digit ids, like real Pages and posts


class GraphError(Exception):
    """A request Graph would refuse, with its error code (platforms.md B4, B7)."""

    def __init__(self, code: int, message: str, *, subcode: int | None = None,
                 status: int = 400, transient: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.subcode = code, message, subcode
        self.status, self.transient = status, transient

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": "OAuthException",
                                 "code": self.code, "fbtrace_id": "AsimTrace0000"}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient:
            error["is_transient"] = True
        return {"error": error}


def missing(object_id: str) -> GraphError:
    return GraphError(100, f"(#100) Unsupported request. Object with ID '{object_id}' does not "
                      "exist, cannot be loaded due to missing permissions, or does not support "
                      "this operation", subcode=33)


@dataclass
class Page:
    id: str
    name: str
    username: str | None
    token: str
    lang: str = "en"

    def credentials(self) -> dict[str, str]:
        return {"page_token": self.token, "page_id": self.id}


@dataclass
class Person:
    id: str
    name: str
    lang: str = "en"

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


@dataclass
class Post:
    id: str
    page_id: str
    author_id: str
    message: str
    created_at: datetime
    seq: int


@dataclass
class Comment:
    id: str
    post_id: str
    parent_id: str | None  # the top-level comment of a reply: Facebook nests one level
    author_id: str
    message: str
    created_at: datetime
    seq: int
    via_api: bool = False
    target_id: str | None = None  # what the API call answered (a reply may name a reply)
    private_reply: str | None = None  # message id of the one private reply it got


@dataclass
class Thread:
    id: str
    page_id: str
    user_id: str
    seq: int


@dataclass
class FbMessage:
    id: str
    thread_id: str
    sender_id: str
    recipient_id: str
    text: str
    created_at: datetime
    seq: int
    via_api: bool = False
    messaging_type: str | None = None
    tag: str | None = None
    reply_to: str | None = None  # the comment or post a private reply answers


class FacebookWorld:
    """Everything the simulator knows about Facebook; public methods take the shared lock."""

    def __init__(self, lock: threading.RLock, clock: Callable[[], datetime]) -> None:
        self.lock, self.clock = lock, clock
        self.pages: dict[str, Page] = {}
        self.people: dict[str, Person] = {}
        self.reset(Traffic(1), 1)

    def reset(self, traffic: Traffic, seed: int) -> None:
        """Forget posts, comments and threads; Pages and their tokens stay."""
        with self.lock:
            self.traffic, self.seed = traffic, seed
            self.people = {pid: p for pid, p in self.people.items() if pid in self.pages}
            self.posts: dict[str, Post] = {}
            self.comments: dict[str, Comment] = {}
            self.threads: dict[str, Thread] = {}
            self.messages: dict[str, FbMessage] = {}
            self._seq = 0

    # -- accounts -----------------------------------------------------------------------

    def add_page(self, page_id: str, name: str, username: str | None = None,
                 token: str | None = None, lang: str = "en") -> Page:
        rng = random.Random(f"{self.seed}-page-{page_id}")
        with self.lock:
            page = Page(page_id, name, username, token or f"EAAsim{rng.getrandbits(128):032x}",
                        lang)
            self.pages[page_id] = page
            self.people[page_id] = Person(page_id, name, lang)
            return page

    def page_for_token(self, token: str) -> Page | None:
        with self.lock:
            return next((p for p in self.pages.values() if p.token == token), None)

    def add_person(self, person_id: str, name: str, lang: str = "en") -> Person:
        with self.lock:
            person = Person(person_id, name, lang)
            self.people[person_id] = person
            return person

    def page(self, page_id: str) -> Page:
        with self.lock:
            if page_id not in self.pages:
                raise missing(page_id)
            return self.pages[page_id]

    # -- writing ------------------------------------------------------------------------

    def add_post(self, page_id: str, message: str, author_id: str | None = None,
                 back_seconds: float = 0) -> Post:
        """A post on the Page's timeline: its own, or a visitor's when `author_id` is given."""
        with self.lock:
            self.page(page_id)
            seq, created = self._stamp(back_seconds)
            post = Post(f"{page_id}_{ID_BASE + seq}", page_id, author_id or page_id, message,
                        created, seq)
            self.posts[post.id] = post
            return post

    def add_comment(self, object_id: str, author_id: str, message: str, *,
                    back_seconds: float = 0, via_api: bool = False) -> Comment:
        """A comment on a post, or a reply to a comment (a reply to a reply joins its thread)."""
        with self.lock:
            post, parent = self._commentable(object_id)
            seq, created = self._stamp(back_seconds)
            created = max(created, (parent or post).created_at)
            comment = Comment(f"{post.id.split('_')[-1]}_{ID_BASE + seq}", post.id,
                              parent.parent_id or parent.id if parent else None, author_id,
                              message, created, seq, via_api,
                              target_id=object_id if via_api else None)
            self.comments[comment.id] = comment
            return comment

    def add_message(self, page_id: str, user_id: str, text: str, *, from_page: bool = False,
                    back_seconds: float = 0, via_api: bool = False,
                    messaging_type: str | None = None, tag: str | None = None,
                    reply_to: str | None = None) -> FbMessage:
        """A Messenger message between a Page and a person; the thread is made on first use."""
        with self.lock:
            self.page(page_id)
            if user_id not in self.people or user_id in self.pages:
                raise GraphError(100, "(#100) No matching user found", subcode=2018001)
            thread = self.thread_with(page_id, user_id)
            if thread is None:
                thread = Thread(f"t_{ID_BASE + self._next()}", page_id, user_id, self._seq)
                self.threads[thread.id] = thread
            seq, created = self._stamp(back_seconds)
            sender, recipient = (page_id, user_id) if from_page else (user_id, page_id)
            digest = hashlib.sha256(f"{self.seed}-{seq}-{text}".encode()).digest()
            message = FbMessage(f"m_{base64.urlsafe_b64encode(digest).decode().rstrip('=')}",
                                thread.id, sender, recipient, text, created, seq, via_api,
                                messaging_type, tag, reply_to)
            self.messages[message.id] = message
            return message

    def reply_to_object(self, page: Page, object_id: str, text: str) -> Comment:
        """POST /{object-id}/comments with a Page token."""
        with self.lock:
            post, _ = self._commentable(object_id)
            if post.page_id != page.id:
                raise GraphError(200, "(#200) Permissions error")
            if not text.strip():
                raise GraphError(100, "(#100) Missing message or attachment")
            if len(text) > MAX_COMMENT_CHARS:
                raise GraphError(100, f"(#100) Comment text is longer than {MAX_COMMENT_CHARS}")
            return self.add_comment(object_id, page.id, text, via_api=True)

    def send(self, page: Page, recipient: dict[str, Any], messaging_type: str | None,
             tag: str | None, text: str) -> FbMessage:
        """POST /{page-id}/messages, with the Send API's windows (platforms.md B5)."""
        with self.lock:
            if not text.strip():
                raise GraphError(100, "(#100) param message must be non-empty.")
            if len(text) > MAX_MESSENGER_CHARS:
                raise GraphError(100, "(#100) Length of param message[text] must be less than "
                                 f"or equal to {MAX_MESSENGER_CHARS}")
            if "comment_id" in recipient or "post_id" in recipient:
                return self._private_reply(page, recipient, text)
            user_id = str(recipient.get("id", ""))
            thread = self.thread_with(page.id, user_id)
            if not user_id or thread is None:
                raise GraphError(100, "(#100) No matching user found", subcode=2018001)
            if messaging_type not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
                raise GraphError(100, "(#100) param messaging_type must be one of {RESPONSE, "
                                 "UPDATE, MESSAGE_TAG}")
            if messaging_type == "MESSAGE_TAG" and tag not in TAGS:
                raise GraphError(100, f"(#100) param tag must be one of {sorted(TAGS)}")
            last = self.last_user_message_at(thread)
            age = self.clock() - last if last else None
            if messaging_type == "MESSAGE_TAG":
                open_ = tag != "HUMAN_AGENT" or (age is not None and age < TAG_WINDOW)
            else:
                open_ = age is not None and age < RESPONSE_WINDOW
            if not open_:
                raise GraphError(10, OUTSIDE_WINDOW, subcode=2018278)
            return self.add_message(page.id, user_id, text, from_page=True, via_api=True,
                                    messaging_type=messaging_type, tag=tag)

    # -- reading ------------------------------------------------------------------------

    def thread_with(self, page_id: str, user_id: str) -> Thread | None:
        with self.lock:
            return next((t for t in self.threads.values()
                         if t.page_id == page_id and t.user_id == user_id), None)

    def feed(self, page_id: str) -> list[Post]:
        """Newest first."""
        with self.lock:
            found = [p for p in self.posts.values() if p.page_id == page_id]
            return sorted(found, key=lambda p: (p.created_at, p.seq), reverse=True)

    def comments_on(self, object_id: str, stream: bool) -> list[Comment]:
        """Oldest first. On a post: top-level comments, or with `stream` replies too."""
        with self.lock:
            if object_id in self.comments:
                found = [c for c in self.comments.values() if c.parent_id == object_id]
            elif object_id in self.posts:
                found = [c for c in self.comments.values() if c.post_id == object_id
                         and (stream or c.parent_id is None)]
            else:
                raise missing(object_id)
            return sorted(found, key=lambda c: (c.created_at, c.seq))

    def threads_of(self, page_id: str) -> list[Thread]:
        """Most recently updated first, as /conversations lists them."""
        with self.lock:
            found = [t for t in self.threads.values() if t.page_id == page_id]
            return sorted(found, key=lambda t: (self.updated(t), t.seq), reverse=True)

    def messages_in(self, thread_id: str) -> list[FbMessage]:
        """Newest first."""
        with self.lock:
            found = [m for m in self.messages.values() if m.thread_id == thread_id]
            return sorted(found, key=lambda m: (m.created_at, m.seq), reverse=True)

    def updated(self, thread: Thread) -> datetime:
        with self.lock:
            return max(m.created_at for m in self.messages.values() if m.thread_id == thread.id)

    def last_user_message_at(self, thread: Thread) -> datetime | None:
        with self.lock:
            times = [m.created_at for m in self.messages.values()
                     if m.thread_id == thread.id and m.sender_id == thread.user_id]
            return max(times, default=None)

    def can_reply_privately(self, item: Comment | Post) -> bool:
        with self.lock:
            post = self.posts[item.post_id] if isinstance(item, Comment) else item
            page_id = post.page_id
            replied = isinstance(item, Comment) and item.private_reply is not None
            replied = replied or any(m.reply_to == item.id for m in self.messages.values())
            young = self.clock() - item.created_at < TAG_WINDOW
            return item.author_id != page_id and young and not replied

    def sent_items(self, page_id: str | None = None) -> list[dict[str, Any]]:
        """What Pages posted through the API, oldest first, for tests to assert on."""
        with self.lock:
            items: list[tuple[int, dict[str, Any]]] = [
                (c.seq, {"kind": "comment", "id": c.id, "page_id": self.posts[c.post_id].page_id,
                         "text": c.message, "target_id": c.target_id, "parent_id": c.parent_id,
                         "post_id": c.post_id})
                for c in self.comments.values() if c.via_api
            ]
            items += [
                (m.seq, {"kind": "message", "id": m.id, "page_id": m.sender_id, "text": m.text,
                         "conversation_id": m.thread_id, "recipient_id": m.recipient_id,
                         "messaging_type": m.messaging_type, "tag": m.tag,
                         "reply_to": m.reply_to})
                for m in self.messages.values() if m.via_api
            ]
            return [i for _, i in sorted(items, key=lambda pair: pair[0])
                    if page_id in (None, i["page_id"])]

    # -- internals ----------------------------------------------------------------------

    def _commentable(self, object_id: str) -> tuple[Post, Comment | None]:
        if object_id in self.posts:
            return self.posts[object_id], None
        if object_id in self.comments:
            comment = self.comments[object_id]
            return self.posts[comment.post_id], comment
        raise missing(object_id)

    def _private_reply(self, page: Page, recipient: dict[str, Any], text: str) -> FbMessage:
        """One private reply per comment (or visitor post), within 7 days of it."""
        object_id = str(recipient.get("comment_id") or recipient.get("post_id"))
        post, parent = self._commentable(object_id)
        if post.page_id != page.id:
            raise missing(object_id)
        item: Comment | Post = parent or post
        if item.author_id == page.id:
            raise GraphError(100, "(#100) Cannot send a private reply to the Page's own content")
        if not self.can_reply_privately(item):
            if self.clock() - item.created_at >= TAG_WINDOW:
                raise GraphError(10, OUTSIDE_WINDOW, subcode=2018278)
            raise GraphError(10900, "Activity already replied to")
        message = self.add_message(page.id, item.author_id, text, from_page=True, via_api=True,
                                   reply_to=item.id)
        if isinstance(item, Comment):
            item.private_reply = message.id
        return message

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _stamp(self, back_seconds: float) -> tuple[int, datetime]:
        # Whole seconds, as Graph reports them; order among equal times comes from `seq`.
        moment = self.clock() - timedelta(seconds=back_seconds)
        return self._next(), moment.replace(microsecond=0)
