"""Graph JSON for the simulated Facebook: the `fields` syntax, node shapes, edges and paging.

Only requested fields are returned and unknown ones are refused (error 100), as Graph does, so
a connector that forgets a field sees it missing here first. Nested edges
(`comments.filter(stream).limit(50){id,from}`) page like top-level ones, with `next` URLs that
carry the access token (facebook-sdk needs it there, platforms.md B3).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from connectors.simulator.graph_state import (
    Comment,
    FacebookWorld,
    FbMessage,
    GraphError,
    Page,
    Post,
    Thread,
    missing,
)

Json = dict[str, Any]
Item = TypeVar("Item", Post, Comment, Thread, FbMessage)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULTS = {"Page": "id,name", "Post": "created_time,message,id",
            "Comment": "created_time,from,message,id", "Conversation": "id,link,updated_time",
            "Message": "id,created_time"}


@dataclass
class Field:
    name: str
    modifiers: dict[str, str]
    sub: str | None  # the text between the braces, kept to build `next` URLs

    def edge_params(self) -> dict[str, str]:
        return {**self.modifiers, **({"fields": self.sub} if self.sub else {})}


def parse_fields(raw: str) -> dict[str, Field]:
    """`a,b.limit(5){c,d{e}}` -> {"a": Field, "b": Field(modifiers={"limit": "5"}, sub=...)}"""
    fields: dict[str, Field] = {}
    i, text = 0, raw.replace(" ", "")
    while i < len(text):
        match = NAME.match(text, i)
        if match is None:
            raise _syntax(text, i)
        name, i = match.group(), match.end()
        modifiers: dict[str, str] = {}
        while text.startswith(".", i):
            mod = NAME.match(text, i + 1)
            close = text.find(")", i)
            if mod is None or not text.startswith("(", mod.end()) or close < 0:
                raise _syntax(text, i)
            modifiers[mod.group()] = text[mod.end() + 1:close]
            i = close + 1
        sub = None
        if text.startswith("{", i):
            depth, start = 0, i
            for i in range(start, len(text)):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                if depth == 0:
                    break
            if depth:
                raise _syntax(text, start)
            sub, i = text[start + 1:i], i + 1
        fields[name] = Field(name, modifiers, sub)
        if i < len(text) and text[i] != ",":
            raise _syntax(text, i)
        i += 1
    return fields


def _syntax(text: str, at: int) -> GraphError:
    return GraphError(2500, f'Syntax error "Unexpected input" at character {at}: {text}')


def fmt(moment: datetime) -> str:
    """Graph's timestamp shape: 2024-06-01T12:00:00+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_time(raw: str | None) -> datetime | None:
    """`since`/`until` as Graph takes them: epoch seconds or an ISO date."""
    if raw is None or raw == "":
        return None
    try:
        if raw.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(raw), UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        raise GraphError(100, f"(#100) Invalid time for since/until: {raw}") from None


@dataclass
class Ctx:
    """One request: whose token, and how to write `next` URLs back to this simulator."""

    world: FacebookWorld
    page: Page
    base: str
    version: str
    token: str


# -- paging -----------------------------------------------------------------------------


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"simcursor:{seq}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(raw.removeprefix("simcursor:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise GraphError(100, f"(#100) Invalid cursor: {token}") from None


def paged(ctx: Ctx, items: list[Item], params: Mapping[str, str], path: str,
          render: Callable[[Item], Json]) -> Json:
    """One page of `items` (already in answer order) after `after`, with Graph's paging."""
    raw_limit = params.get("limit", "25")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise GraphError(100, f"(#100) limit must be between 1 and 100, got {raw_limit}")
    limit = int(raw_limit)
    start = 0
    if params.get("after"):
        seq = decode_cursor(params["after"])
        found = [n for n, item in enumerate(items) if item.seq == seq]
        start = found[0] + 1 if found else len(items)
    chunk = items[start:start + limit]
    body: Json = {"data": [render(item) for item in chunk]}
    if chunk:
        after = encode_cursor(chunk[-1].seq)
        paging: Json = {"cursors": {"before": encode_cursor(chunk[0].seq), "after": after}}
        if start + limit < len(items):
            query = {k: v for k, v in params.items() if k not in ("after", "before",
                                                                  "access_token")}
            query.update(access_token=ctx.token, limit=str(limit), after=after)
            paging["next"] = f"{ctx.base}/{ctx.version}/{path}?{urlencode(query)}"
        body["paging"] = paging
    return body


def _in_time(items: list[Item], params: Mapping[str, str]) -> list[Item]:
    since, until = parse_time(params.get("since")), parse_time(params.get("until"))
    return [i for i in items if isinstance(i, Thread) or (
        (since is None or i.created_at >= since) and (until is None or i.created_at <= until))]


# -- edges ------------------------------------------------------------------------------


def feed_edge(ctx: Ctx, page_id: str, params: Mapping[str, str]) -> Json:
    posts = _in_time(ctx.world.feed(page_id), params)
    wanted = _fields(params, "Post")
    return paged(ctx, posts, params, f"{page_id}/feed", lambda p: render_post(ctx, p, wanted))


def comments_edge(ctx: Ctx, object_id: str, params: Mapping[str, str]) -> Json:
    filter_ = params.get("filter", "toplevel")
    order = params.get("order", "chronological")
    if filter_ not in ("toplevel", "stream") or order not in ("chronological",
                                                              "reverse_chronological"):
        raise GraphError(100, "(#100) filter must be toplevel or stream, order chronological "
                         "or reverse_chronological")
    comments = ctx.world.comments_on(object_id, stream=filter_ == "stream")
    if order == "reverse_chronological":
        comments.reverse()
    wanted = _fields(params, "Comment")
    return paged(ctx, _in_time(comments, params), params, f"{object_id}/comments",
                 lambda c: render_comment(ctx, c, wanted))


def conversations_edge(ctx: Ctx, page_id: str, params: Mapping[str, str]) -> Json:
    if params.get("platform", "messenger") != "messenger":
        return {"data": []}  # the simulator has no Instagram
    threads = ctx.world.threads_of(page_id)
    if params.get("user_id"):
        threads = [t for t in threads if t.user_id == params["user_id"]]
    wanted = _fields(params, "Conversation")
    return paged(ctx, threads, params, f"{page_id}/conversations",
                 lambda t: render_thread(ctx, t, wanted))


def messages_edge(ctx: Ctx, thread_id: str, params: Mapping[str, str]) -> Json:
    wanted = _fields(params, "Message")
    return paged(ctx, ctx.world.messages_in(thread_id), params, f"{thread_id}/messages",
                 lambda m: render_message(ctx, m, wanted))


def _fields(params: Mapping[str, str], node: str) -> dict[str, Field]:
    return parse_fields(params.get("fields") or DEFAULTS[node])


# -- nodes ------------------------------------------------------------------------------


def actor(ctx: Ctx, person_id: str, email: bool = False) -> Json:
    person = ctx.world.people.get(person_id)
    data: Json = {"name": person.name if person else "Facebook user", "id": person_id}
    if email:
        data["email"] = f"{person_id}@facebook.com"
    return data


def _pick(node: str, wanted: dict[str, Field], values: dict[str, Callable[[Field], Any]]) -> Json:
    """The requested fields, in the order asked, and always the id (Graph adds it last);
    absent values are left out, as Graph does."""
    data: Json = {}
    for name, spec in {**wanted, "id": wanted.get("id", Field("id", {}, None))}.items():
        if name not in values:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node "
                             f"type ({node})")
        value = values[name](spec)
        if value is not None:
            data[name] = value
    return data


def render_page(page: Page, wanted: dict[str, Field]) -> Json:
    return _pick("Page", wanted, {
        "id": lambda _: page.id, "name": lambda _: page.name,
        "username": lambda _: page.username,
        "link": lambda _: f"https://www.facebook.com/{page.username or page.id}",
        "category": lambda _: "Company",
    })


def render_post(ctx: Ctx, post: Post, wanted: dict[str, Field]) -> Json:
    local = post.id.split("_")[-1]
    comments = [c.created_at for c in ctx.world.comments.values() if c.post_id == post.id]
    return _pick("Post", wanted, {
        "id": lambda _: post.id, "message": lambda _: post.message,
        "created_time": lambda _: fmt(post.created_at),
        "updated_time": lambda _: fmt(max([post.created_at, *comments])),
        "from": lambda _: actor(ctx, post.author_id),
        "permalink_url": lambda _: f"https://www.facebook.com/{post.page_id}/posts/{local}",
        "is_hidden": lambda _: False,
        "can_reply_privately": lambda _: ctx.world.can_reply_privately(post),
        "comments": lambda f: _nonempty(comments_edge(ctx, post.id, f.edge_params())),
    })


def render_comment(ctx: Ctx, comment: Comment, wanted: dict[str, Field]) -> Json:
    post = ctx.world.posts[comment.post_id]
    local = comment.id.split("_")[-1]
    parent = ctx.world.comments.get(comment.parent_id or "")
    return _pick("Comment", wanted, {
        "id": lambda _: comment.id, "message": lambda _: comment.message,
        "created_time": lambda _: fmt(comment.created_at),
        "from": lambda _: actor(ctx, comment.author_id),
        "permalink_url": lambda _: (f"https://www.facebook.com/{post.page_id}/posts/"
                                    f"{post.id.split('_')[-1]}?comment_id={local}"),
        "parent": lambda f: render_comment(ctx, parent, parse_fields(f.sub or DEFAULTS["Comment"]))
        if parent else None,
        "can_reply_privately": lambda _: ctx.world.can_reply_privately(comment),
        "is_hidden": lambda _: False,
        "comment_count": lambda _: len(ctx.world.comments_on(comment.id, stream=False)),
        "comments": lambda f: _nonempty(comments_edge(ctx, comment.id, f.edge_params())),
    })


def render_thread(ctx: Ctx, thread: Thread, wanted: dict[str, Field]) -> Json:
    world, people = ctx.world, [thread.user_id, thread.page_id]
    page = world.pages[thread.page_id]
    return _pick("Conversation", wanted, {
        "id": lambda _: thread.id,
        "updated_time": lambda _: fmt(world.updated(thread)),
        "link": lambda _: f"/{page.username or page.id}/inbox/{thread.id.removeprefix('t_')}/",
        "message_count": lambda _: len(world.messages_in(thread.id)),
        "snippet": lambda _: world.messages_in(thread.id)[0].text[:100],
        "participants": lambda _: {"data": [actor(ctx, p, email=True) for p in people]},
        "messages": lambda f: messages_edge(ctx, thread.id, f.edge_params()),
    })


def render_message(ctx: Ctx, message: FbMessage, wanted: dict[str, Field]) -> Json:
    return _pick("Message", wanted, {
        "id": lambda _: message.id, "message": lambda _: message.text,
        "created_time": lambda _: fmt(message.created_at),
        "from": lambda _: actor(ctx, message.sender_id, email=True),
        "to": lambda _: {"data": [actor(ctx, message.recipient_id, email=True)]},
    })


def owner_of(world: FacebookWorld, node_id: str) -> str:
    """The Page a post, comment, conversation or message belongs to."""
    if node_id in world.posts:
        return world.posts[node_id].page_id
    if node_id in world.comments:
        return world.posts[world.comments[node_id].post_id].page_id
    if node_id in world.threads:
        return world.threads[node_id].page_id
    if node_id in world.messages:
        return world.threads[world.messages[node_id].thread_id].page_id
    raise missing(node_id)


def render_node(ctx: Ctx, node_id: str, params: Mapping[str, str]) -> Json:
    """GET /{id}: any Page, or a post, comment, conversation or message of the token's Page
    (those of other Pages look missing, as Graph shows them)."""
    world = ctx.world
    if node_id in world.pages:
        return render_page(world.pages[node_id], _fields(params, "Page"))
    if owner_of(world, node_id) != ctx.page.id:
        raise missing(node_id)
    if node_id in world.posts:
        return render_post(ctx, world.posts[node_id], _fields(params, "Post"))
    if node_id in world.comments:
        return render_comment(ctx, world.comments[node_id], _fields(params, "Comment"))
    if node_id in world.threads:
        return render_thread(ctx, world.threads[node_id], _fields(params, "Conversation"))
    return render_message(ctx, world.messages[node_id], _fields(params, "Message"))


def _nonempty(edge: Json) -> Json | None:
    """A nested edge with nothing in it is left out of the answer (platforms.md B5)."""
    return edge if edge["data"] else None
