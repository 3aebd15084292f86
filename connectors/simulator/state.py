"""The simulator's world: brands, customers, posts and direct messages, behind one lock.

Request threads and the control API mutate it concurrently, so every public method takes
the lock. Nothing here knows HTTP; `x_api.py` renders it as X API v2 JSON.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.simulator.faults import FaultPlan
from connectors.simulator.graph_state import FacebookWorld
from connectors.simulator.traffic import Traffic

TWEPOCH_MS = 1288834974657  # X snowflake epoch: ids grow with time, like the real ones
MENTION = re.compile(r"@(\w{1,15})")


class Rejected(Exception):  # noqa: N818 - reads as "the request was rejected"
    """A request the platform would refuse, with the status and X's explanation."""

    def __init__(self, status: int, title: str, detail: str, type_: str = "about:blank") -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.type = status, title, detail, type_


@dataclass
class User:
    id: str
    username: str
    name: str
    followers: int = 0
    lang: str = "en"

    @property
    def avatar(self) -> str:
        return f"https://pbs.twimg.com/profile_images/{self.id}/avatar_normal.jpg"


@dataclass
class Brand:
    user_id: str
    bearer_token: str
    access_token: str
    access_token_secret: str

    def credentials(self) -> dict[str, str]:
        """What a connector needs; the simulator does not check consumer keys or signatures."""
        return {
            "bearer_token": self.bearer_token,
            "consumer_key": "sim-consumer-key",
            "consumer_secret": "sim-consumer-secret",
            "access_token": self.access_token,
            "access_token_secret": self.access_token_secret,
        }


@dataclass
class Tweet:
    id: int
    author_id: str
    text: str
    created_at: datetime
    conversation_id: int
    mentions: list[tuple[int, int, User]] = field(default_factory=list)
    replied_to: int | None = None
    in_reply_to_user_id: str | None = None
    via_api: bool = False  # posted by a brand through the API: what the connector sent


@dataclass
class DmEvent:
    id: int
    sender_id: str
    dm_conversation_id: str
    text: str
    created_at: datetime
    via_api: bool = False
    # A group conversation's members; empty for a 1:1 conversation, whose id names both.
    members: tuple[str, ...] = ()

    @property
    def participants(self) -> list[str]:
        return list(self.members) if self.members else self.dm_conversation_id.split("-")


def conversation_key(a: str, b: str) -> str:
    """X's id of a 1:1 conversation: the two user ids, smaller first."""
    low, high = sorted((a, b), key=int)
    return f"{low}-{high}"


class SimState:
    """Everything the simulator knows. `clock` is injectable so tests get fixed timestamps."""

    def __init__(self, seed: int = 1, clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.faults = FaultPlan()
        self.brands: dict[str, Brand] = {}
        self.users: dict[str, User] = {}
        self.enforce_rate_limits = False
        self.seed = seed
        # Facebook's Pages, posts and threads: same lock, clock and seeded traffic (graph_state).
        self.facebook = FacebookWorld(self._lock, lambda: self.clock())
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Forget all traffic, requests and faults; keep the brands, Pages and their tokens."""
        with self._lock:
            self.seed = self.seed if seed is None else seed
            self.traffic = Traffic(self.seed)
            self.users = {uid: self.users[uid] for uid in self.brands}
            self.tweets: dict[int, Tweet] = {}
            self.dms: dict[int, DmEvent] = {}
            self.groups: dict[str, tuple[str, ...]] = {}  # group dm_conversation_id -> members
            self.requests: list[dict[str, Any]] = []
            self.rate_windows: dict[str, tuple[float, int]] = {}
            self._last_ms = 0
            self._last_id = 0
            self.faults.clear()
            self.facebook.reset(self.traffic, self.seed)

    # -- accounts -----------------------------------------------------------------------

    def add_brand(self, user_id: str, username: str, bearer_token: str | None = None,
                  access_token: str | None = None, name: str | None = None) -> Brand:
        """A brand account; tokens default to deterministic ones, shaped as X shapes them."""
        if access_token is not None and not access_token.startswith(f"{user_id}-"):
            # tweepy derives the user id from the token prefix (platforms.md A1).
            raise ValueError("an access token must look like '<user_id>-<secret>'")
        rng = random.Random(f"{self.seed}-{user_id}")
        with self._lock:
            brand = Brand(
                user_id=user_id,
                bearer_token=bearer_token or f"AAAAsim{rng.getrandbits(96):024x}",
                access_token=access_token or f"{user_id}-sim{rng.getrandbits(96):024x}",
                access_token_secret=f"simsecret{rng.getrandbits(96):024x}",
            )
            self.brands[user_id] = brand
            self.users[user_id] = User(user_id, username, name or username, followers=12000)
            return brand

    def add_user(self, user_id: str, username: str, name: str | None = None,
                 followers: int = 0, lang: str = "en") -> User:
        with self._lock:
            user = User(user_id, username, name or username, followers, lang)
            self.users[user_id] = user
            return user

    def user_named(self, username: str) -> User | None:
        with self._lock:
            wanted = username.lower()
            return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def brand_for_token(self, token: str) -> tuple[Brand, bool] | None:
        """The brand a token belongs to, and whether it is a user-context token."""
        with self._lock:
            for brand in self.brands.values():
                if token == brand.access_token:
                    return brand, True
                if token == brand.bearer_token:
                    return brand, False
            return None

    def user(self, user_id: str) -> User:
        with self._lock:
            if user_id not in self.users:
                raise Rejected(400, "Invalid Request", f"Could not find user with id: [{user_id}].")
            return self.users[user_id]

    # -- writing ------------------------------------------------------------------------

    def add_tweet(self, author_id: str, text: str, in_reply_to: int | None = None,
                  *, via_api: bool = False, back_seconds: float = 0) -> Tweet:
        """A post; a reply joins the conversation of the post it answers."""
        with self._lock:
            self.user(author_id)
            parent = self.tweets.get(in_reply_to) if in_reply_to is not None else None
            if in_reply_to is not None and parent is None:
                raise Rejected(403, "Forbidden", "You attempted to reply to a Tweet that is "
                               "deleted or not visible to you.")
            created, tweet_id = self._stamp(back_seconds)
            tweet = Tweet(
                id=tweet_id, author_id=author_id, text=text, created_at=created,
                conversation_id=parent.conversation_id if parent else tweet_id,
                mentions=self._mentions(text),
                replied_to=parent.id if parent else None,
                in_reply_to_user_id=parent.author_id if parent else None,
                via_api=via_api,
            )
            self.tweets[tweet_id] = tweet
            return tweet

    def add_dm(self, sender_id: str, recipient_id: str, text: str, *, via_api: bool = False,
               back_seconds: float = 0) -> DmEvent:
        with self._lock:
            self.user(sender_id)
            self.user(recipient_id)
            if sender_id == recipient_id:
                raise Rejected(400, "Invalid Request", "You cannot send a message to yourself.")
            created, event_id = self._stamp(back_seconds)
            event = DmEvent(event_id, sender_id, conversation_key(sender_id, recipient_id), text,
                            created, via_api)
            self.dms[event_id] = event
            return event

    def add_group(self, member_ids: list[str]) -> str:
        """A group conversation; unlike a 1:1 id, its id is a plain number naming nobody."""
        with self._lock:
            members = tuple(dict.fromkeys(member_ids))
            for member in members:
                self.user(member)
            if len(members) < 3:
                raise Rejected(400, "Invalid Request", "A group conversation needs at least "
                               "two participants besides its creator.")
            _, conversation_id = self._stamp(0)
            self.groups[str(conversation_id)] = members
            return str(conversation_id)

    def add_group_dm(self, sender_id: str, dm_conversation_id: str, text: str, *,
                     via_api: bool = False, back_seconds: float = 0) -> DmEvent:
        with self._lock:
            members = self.groups.get(dm_conversation_id, ())
            if sender_id not in members:
                raise Rejected(403, "Forbidden", "You are not a participant of this "
                               "conversation.")
            created, event_id = self._stamp(back_seconds)
            event = DmEvent(event_id, sender_id, dm_conversation_id, text, created, via_api,
                            members)
            self.dms[event_id] = event
            return event

    def send_dm_to_conversation(self, sender_id: str, dm_conversation_id: str,
                                text: str) -> DmEvent:
        with self._lock:
            if dm_conversation_id in self.groups:
                return self.add_group_dm(sender_id, dm_conversation_id, text, via_api=True)
        others = [p for p in dm_conversation_id.split("-") if p != sender_id]
        if len(others) != 1 or sender_id not in dm_conversation_id.split("-"):
            raise Rejected(403, "Forbidden", "You are not a participant of this conversation.")
        return self.add_dm(sender_id, others[0], text, via_api=True)

    # -- generated traffic -------------------------------------------------------------

    def generate_traffic(self, brand_id: str, count: int, *, dm_share: float = 0.0,
                         thread_share: float = 0.3, known_share: float = 0.5,
                         spread_seconds: float = 0) -> list[Tweet | DmEvent]:
        """Customer posts and DMs in time order, back-dated over `spread_seconds`.

        Some posts continue an earlier conversation of their author (`thread_share`); some
        DMs come from people who already posted publicly (`known_share`).
        """
        with self._lock:
            brand = self.user(brand_id)
            made: list[Tweet | DmEvent] = []
            for n in range(count):
                back = spread_seconds * (count - n - 1) / count
                if self.traffic.chance(dm_share):
                    made.append(self._generated_dm(brand, known_share, back))
                else:
                    made.append(self._generated_mention(brand, thread_share, back))
            return made

    def generate_mentions(self, brand_id: str, count: int, **options: float) -> list[Tweet]:
        made = self.generate_traffic(brand_id, count, dm_share=0.0, **options)
        return [t for t in made if isinstance(t, Tweet)]

    def generate_dms(self, brand_id: str, count: int, **options: float) -> list[DmEvent]:
        made = self.generate_traffic(brand_id, count, dm_share=1.0, **options)
        return [e for e in made if isinstance(e, DmEvent)]

    # -- reading ------------------------------------------------------------------------

    def mentions_of(self, user_id: str) -> list[Tweet]:
        """Newest first, like every X timeline."""
        with self._lock:
            found = [t for t in self.tweets.values() if any(m[2].id == user_id for m in t.mentions)]
            return sorted(found, key=lambda t: t.id, reverse=True)

    def timeline_of(self, user_id: str) -> list[Tweet]:
        with self._lock:
            found = [t for t in self.tweets.values() if t.author_id == user_id]
            return sorted(found, key=lambda t: t.id, reverse=True)

    def dm_events_of(self, user_id: str, dm_conversation_id: str | None = None) -> list[DmEvent]:
        with self._lock:
            found = [e for e in self.dms.values() if user_id in e.participants
                     and dm_conversation_id in (None, e.dm_conversation_id)]
            return sorted(found, key=lambda e: e.id, reverse=True)

    def sent_items(self, brand_id: str | None = None) -> list[dict[str, Any]]:
        """What brands posted through the API, oldest first, for tests to assert on."""
        with self._lock:
            items: list[dict[str, Any]] = [
                {"kind": "tweet", "id": str(t.id), "brand_id": t.author_id, "text": t.text,
                 "in_reply_to": str(t.replied_to) if t.replied_to else None,
                 "conversation_id": str(t.conversation_id)}
                for t in self.tweets.values() if t.via_api
            ]
            items += [
                {"kind": "dm", "id": str(e.id), "brand_id": e.sender_id, "text": e.text,
                 "dm_conversation_id": e.dm_conversation_id,
                 # Whom a 1:1 message went to; None in a group, where it went to all.
                 "participant_id": None if e.members else
                 next(p for p in e.participants if p != e.sender_id)}
                for e in self.dms.values() if e.via_api
            ]
            items.sort(key=lambda item: int(item["id"]))
            return [i for i in items if brand_id in (None, i["brand_id"])]

    def record_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)
            del self.requests[:-5000]  # bounded: a long demo must not grow without end

    def requests_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.requests)

    def count_call(self, key: str, limit: int, window: float = 900.0) -> tuple[int, int, bool]:
        """One call against a 15-minute window: (remaining, reset epoch seconds, over limit)."""
        now = self.clock().timestamp()
        with self._lock:
            start, used = self.rate_windows.get(key, (now, 0))
            if now >= start + window:
                start, used = now, 0
            used += 1
            self.rate_windows[key] = (start, used)
            return max(limit - used, 0), int(start + window), used > limit

    # -- internals ----------------------------------------------------------------------

    def _generated_mention(self, brand: User, thread_share: float, back: float) -> Tweet:
        earlier = [t for t in self.tweets.values() if t.author_id != brand.id
                   and any(m[2].id == brand.id for m in t.mentions)]
        if earlier and self.traffic.chance(thread_share):
            root = earlier[self.traffic.pick(len(earlier))]
            who = self.users[root.author_id]
            latest = max(t.id for t in self.tweets.values()
                         if t.conversation_id == root.conversation_id)
            text = f"@{brand.username} {self.traffic.followup(who.lang)}"
            return self.add_tweet(who.id, text, latest, back_seconds=back)
        who = self._new_customer()
        text = f"@{brand.username} {self.traffic.opening(who.lang)}"
        return self.add_tweet(who.id, text, back_seconds=back)

    def _generated_dm(self, brand: User, known_share: float, back: float) -> DmEvent:
        customers = [u for u in self.users.values() if u.id not in self.brands]
        if customers and self.traffic.chance(known_share):
            who = customers[self.traffic.pick(len(customers))]
        else:
            who = self._new_customer()
        return self.add_dm(who.id, brand.id, self.traffic.dm(who.lang, who.username),
                           back_seconds=back)

    def _new_customer(self) -> User:
        spec = self.traffic.customer()
        followers = self.traffic.pick(5000)
        return self.add_user(spec.user_id, spec.username, spec.name, followers, spec.lang)

    def _mentions(self, text: str) -> list[tuple[int, int, User]]:
        by_name = {u.username.lower(): u for u in self.users.values()}
        return [(m.start(), m.end(), by_name[m.group(1).lower()])
                for m in MENTION.finditer(text) if m.group(1).lower() in by_name]

    def _stamp(self, back_seconds: float) -> tuple[datetime, int]:
        """A creation time (back-dated when asked, never before the last one) and its id."""
        wanted = self.clock() - timedelta(seconds=back_seconds)
        ms = max(int(wanted.timestamp() * 1000), self._last_ms + 1)
        self._last_ms = ms
        self._last_id = max(self._last_id + 1, (ms - TWEPOCH_MS) << 22)
        return datetime.fromtimestamp(ms / 1000, UTC), self._last_id
