"""Deterministic, realistic-looking normalized messages for the ingest benchmark.

Two brand accounts (an X account: mentions and DMs; a Facebook Page: comments and
Messenger), contacts split between the platforms, conversations opening over time and
replies landing mostly on recent conversations, about 20 % of messages our own replies.
Everything derives from one seed; created_at strictly increases (aware UTC).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Author, InboundMessage, Platform, ThreadKind

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SNOWFLAKE_BASE = 1_870_000_000_000_000_000
OWN_SHARE = 0.20
# Chance that a customer message in a public thread comes from someone else.
BYSTANDER_SHARE = 0.10
# Mean distance (in conversations opened since) of the conversation a reply lands on.
RECENCY = 400.0

WORDS = (
    "order delivery refund package tracking number still not arrived week ago please help "
    "account login password reset email phone app crash update error payment card charged "
    "twice cancel subscription invoice store manager support team thanks hello hi again "
    "waiting days hours response reply urgent broken damaged wrong item size color return "
    "label shipping address changed customer service terrible great love product quality "
    "sorry issue problem fixed working today tomorrow yesterday monday friday weekend store "
    "online website checkout discount code promo expired gift voucher balance points member "
    "loyalty program DM sent details case reference ticket escalate supervisor call back "
    "could would should you your we our the a an and or but so if when why how what is are "
    "was were be been have has had do does did not no yes ok okay really very just only"
).split()


@dataclass(frozen=True)
class StreamSpec:
    """One polled stream of one account, and the kind of thread it feeds."""

    account: str  # key into ACCOUNTS
    stream: str
    kind: ThreadKind
    weight: float  # share of conversations
    median_len: int
    max_len: int


@dataclass(frozen=True)
class AccountSpec:
    key: str
    platform: Platform
    name: str
    external_id: str
    handle: str


ACCOUNTS = {
    "x": AccountSpec("x", Platform.X, "Acme Support (X)", "1410000000000000001", "acmehelp"),
    "fb": AccountSpec("fb", Platform.FACEBOOK, "Acme", "104200000000001", "acme"),
}
STREAMS = (
    StreamSpec("x", "mentions", ThreadKind.X_MENTION, 0.35, 90, 280),
    StreamSpec("x", "dms", ThreadKind.X_DM, 0.20, 70, 1000),
    StreamSpec("fb", "comments", ThreadKind.FB_COMMENT, 0.25, 80, 1500),
    StreamSpec("fb", "messenger", ThreadKind.FB_MESSENGER, 0.20, 60, 2000),
)


@dataclass(frozen=True)
class StreamBatch:
    """What one fetch of one stream returns: what the worker hands to ingest_batch."""

    spec: StreamSpec
    messages: list[InboundMessage]
    cursor: str


@dataclass
class _Thread:
    spec: StreamSpec
    external_id: str
    contact: Author
    last_message: str | None = None


@dataclass
class _World:
    rng: random.Random
    contacts: dict[Platform, list[Author]]
    threads: list[_Thread] = field(default_factory=list)
    next_contact: dict[Platform, int] = field(default_factory=dict)
    clock: datetime = T0


def generate(messages: int, conversations: int, contacts: int,
             seed: int) -> list[InboundMessage]:
    """The messages in created_at order."""
    if not 0 < conversations <= messages or contacts < 2:
        raise ValueError("need 0 < conversations <= messages and contacts >= 2")
    rng = random.Random(seed)
    world = _World(rng=rng, contacts=_contacts(rng, contacts))
    own_share = min(1.0, OWN_SHARE * messages / max(1, messages - conversations))
    out: list[InboundMessage] = []
    for n in range(messages):
        world.clock += timedelta(microseconds=1000 + int(rng.expovariate(1 / 1_500_000)))
        left = conversations - len(world.threads)
        opening = not world.threads or rng.random() * (messages - n) < left
        thread = _open_thread(world, n) if opening else _pick_thread(world)
        is_own = not opening and rng.random() < own_share
        out.append(_message(world, thread, n, is_own))
    return out


def batches(messages: list[InboundMessage], size: int) -> list[StreamBatch]:
    """Per-stream batches of `size`, in the order the worker would meet them."""
    by_kind = {spec.kind: spec for spec in STREAMS}
    pending: dict[ThreadKind, list[InboundMessage]] = {spec.kind: [] for spec in STREAMS}
    out: list[StreamBatch] = []
    for m in messages:
        buf = pending[m.thread_kind]
        buf.append(m)
        if len(buf) >= size:
            out.append(_batch(by_kind[m.thread_kind], buf))
            pending[m.thread_kind] = []
    tails = [_batch(by_kind[kind], buf) for kind, buf in pending.items() if buf]
    return out + sorted(tails, key=lambda b: b.messages[0].created_at or T0)


def _batch(spec: StreamSpec, messages: list[InboundMessage]) -> StreamBatch:
    last = messages[-1]
    cursor = last.external_id if spec.account == "x" else (last.created_at or T0).isoformat()
    return StreamBatch(spec=spec, messages=messages, cursor=cursor)


def _contacts(rng: random.Random, total: int) -> dict[Platform, list[Author]]:
    x_share = sum(s.weight for s in STREAMS if ACCOUNTS[s.account].platform is Platform.X)
    on_x = max(1, min(total - 1, round(total * x_share)))
    pools = {
        Platform.X: [_x_author(rng, i) for i in range(on_x)],
        Platform.FACEBOOK: [_fb_author(rng, i) for i in range(total - on_x)],
    }
    for pool in pools.values():
        rng.shuffle(pool)
    return pools


def _person(rng: random.Random) -> str:
    first = rng.choice(("Jane", "Omar", "Li", "Maria", "Sam", "Aisha", "Tom", "Priya", "Lukas"))
    last = rng.choice(("Doe", "Khan", "Chen", "Garcia", "Smith", "Okafor", "Novak", "Rossi"))
    return f"{first} {last}"


def _x_author(rng: random.Random, i: int) -> Author:
    ext = str(rng.randrange(10**9, 10**19))[:-6] + f"{i:06d}"
    handle = f"user{ext[-9:]}"
    return Author(external_id=ext, handle=handle, name=_person(rng),
                  avatar_url=f"https://pbs.twimg.com/profile_images/{ext}/photo_normal.jpg",
                  profile_url=f"https://x.com/{handle}",
                  follower_count=int(rng.lognormvariate(5, 1.8)))


def _fb_author(rng: random.Random, i: int) -> Author:
    ext = f"{rng.randrange(10**9, 10**10)}{i:07d}"
    return Author(external_id=ext, name=_person(rng),
                  profile_url=f"https://www.facebook.com/profile.php?id={ext}")


def _open_thread(world: _World, n: int) -> _Thread:
    rng = world.rng
    spec = rng.choices(STREAMS, weights=[s.weight for s in STREAMS])[0]
    platform = ACCOUNTS[spec.account].platform
    pool = world.contacts[platform]
    index = world.next_contact.get(platform, 0)
    world.next_contact[platform] = index + 1
    thread = _Thread(spec=spec, external_id=_thread_id(spec, n), contact=pool[index % len(pool)])
    world.threads.append(thread)
    return thread


def _thread_id(spec: StreamSpec, n: int) -> str:
    sf = _snowflake(n)
    account = ACCOUNTS[spec.account]
    return {
        ThreadKind.X_MENTION: str(sf),
        ThreadKind.X_DM: f"{account.external_id}-{sf}",
        ThreadKind.FB_COMMENT: f"{account.external_id}_{sf}",
        ThreadKind.FB_MESSENGER: f"t_{sf}",
    }[spec.kind]


def _pick_thread(world: _World) -> _Thread:
    back = int(world.rng.expovariate(1 / RECENCY)) % len(world.threads)
    return world.threads[len(world.threads) - 1 - back]


def _snowflake(n: int) -> int:
    return SNOWFLAKE_BASE + n * 4_194_304


def _message(world: _World, thread: _Thread, n: int, is_own: bool) -> InboundMessage:
    rng, spec = world.rng, thread.spec
    account = ACCOUNTS[spec.account]
    author = _author(world, thread, is_own)
    text = _text(rng, spec, is_own)
    ext = _message_id(spec, account, n)
    msg = InboundMessage(
        platform=account.platform, external_id=ext, thread_kind=spec.kind,
        external_thread_id=thread.external_id, author=author, text=text,
        created_at=world.clock, in_reply_to=thread.last_message, is_own=is_own,
        url=_url(spec, author, ext, thread.external_id),
        raw=_raw(spec, account, author, ext, text, world.clock, thread),
    )
    thread.last_message = ext
    return msg


def _author(world: _World, thread: _Thread, is_own: bool) -> Author:
    account = ACCOUNTS[thread.spec.account]
    if is_own:
        return Author(external_id=account.external_id, handle=account.handle, name=account.name)
    public = thread.spec.kind in (ThreadKind.X_MENTION, ThreadKind.FB_COMMENT)
    if public and thread.last_message is not None and world.rng.random() < BYSTANDER_SHARE:
        return world.rng.choice(world.contacts[account.platform])
    return thread.contact


def _text(rng: random.Random, spec: StreamSpec, is_own: bool) -> str:
    median = 140 if is_own else spec.median_len
    target = max(1, min(spec.max_len, int(rng.lognormvariate(0, 0.6) * median)))
    words = rng.choices(WORDS, k=target // 4 + 2)
    return " ".join(words)[:target].strip() or "hi"


def _message_id(spec: StreamSpec, account: AccountSpec, n: int) -> str:
    sf = _snowflake(n)
    if spec.kind is ThreadKind.FB_COMMENT:
        return f"{account.external_id}_{sf}"
    if spec.kind is ThreadKind.FB_MESSENGER:
        return f"m_{sf:x}{n:08x}"
    return str(sf)


def _url(spec: StreamSpec, author: Author, ext: str, thread: str) -> str | None:
    if spec.kind is ThreadKind.X_MENTION:
        return f"https://x.com/{author.handle}/status/{ext}"
    if spec.kind is ThreadKind.FB_COMMENT:
        return f"https://www.facebook.com/{thread}?comment_id={ext}"
    return None


def _raw(spec: StreamSpec, account: AccountSpec, author: Author, ext: str, text: str,
         when: datetime, thread: _Thread) -> dict[str, Any]:
    """A payload shaped like what the platform returned (kept verbatim in message.raw)."""
    if account.platform is Platform.X:
        payload: dict[str, Any] = {
            "id": ext, "text": text, "author_id": author.external_id, "lang": "en",
            "created_at": when.isoformat().replace("+00:00", "Z"),
            "edit_history_tweet_ids": [ext],
        }
        if spec.kind is ThreadKind.X_MENTION:
            payload |= {"conversation_id": thread.external_id,
                        "public_metrics": {"retweet_count": 0, "reply_count": 0,
                                           "like_count": len(text) % 7, "quote_count": 0}}
        else:
            payload |= {"event_type": "MessageCreate", "dm_conversation_id": thread.external_id}
        if thread.last_message:
            payload["referenced_tweets"] = [{"type": "replied_to", "id": thread.last_message}]
        return payload
    if spec.kind is ThreadKind.FB_COMMENT:
        return {"id": ext, "message": text, "created_time": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "from": {"id": author.external_id, "name": author.name},
                "parent": {"id": thread.last_message or thread.external_id}}
    return {"mid": ext, "text": text, "timestamp": int(when.timestamp() * 1000),
            "sender": {"id": author.external_id}, "recipient": {"id": account.external_id}}
