"""The /_sim/ control API for the simulated Facebook: Pages, posts, comments, Messenger.

Explicit items for tests (`back_seconds` back-dates them, e.g. a message 25 hours old) and
generated traffic for the demo. Faults, requests and reset are shared with X (control.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Body, Request

from connectors.simulator import graph_traffic
from connectors.simulator.graph_render import fmt
from connectors.simulator.graph_state import (
    Comment,
    FacebookWorld,
    FbMessage,
    GraphError,
    Page,
    Post,
)
from connectors.simulator.state import SimState

router = APIRouter(prefix="/_sim")


def _world(request: Request) -> FacebookWorld:
    state: SimState = request.app.state.sim
    return state.facebook


def _bad(detail: str) -> GraphError:
    return GraphError(100, f"(#100) {detail}")


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _bad(f"{key} must be a non-negative number")
    return float(value)


def _person(world: FacebookWorld, spec: Any, role: str) -> str:
    """The id of an explicit author/sender ({name, id?, lang?}), created when new."""
    if not isinstance(spec, dict) or not spec.get("name"):
        raise _bad(f"{role} needs at least a name")
    # Derived from the name, not hash(): ids must be the same in every process and run.
    derived = str(10**15 + int(hashlib.sha256(spec["name"].encode()).hexdigest()[:12], 16))
    person_id = str(spec.get("id") or derived)
    if person_id in world.pages:
        raise _bad(f"{role} cannot be a Page")
    world.add_person(person_id, str(spec["name"]), str(spec.get("lang", "en")))
    return person_id


def page_json(page: Page) -> dict[str, Any]:
    return {"page_id": page.id, "name": page.name, "username": page.username,
            "credentials": page.credentials()}


def item_json(world: FacebookWorld, item: Post | Comment | FbMessage) -> dict[str, Any]:
    """A compact description for tests and curl (not Graph's shape: read that via the API)."""
    if isinstance(item, FbMessage):
        return {"kind": "message", "id": item.id, "conversation_id": item.thread_id,
                "from": item.sender_id, "to": item.recipient_id, "message": item.text,
                "created_time": fmt(item.created_at)}
    author = item.author_id
    data = {"id": item.id, "from": {"id": author, "name": world.people[author].name},
            "message": item.message, "created_time": fmt(item.created_at)}
    if isinstance(item, Post):
        return {"kind": "post", **data}
    return {"kind": "comment", **data, "post_id": item.post_id, "parent_id": item.parent_id}


@router.post("/pages", status_code=201)
def add_page(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """{page_id, name, username?, page_token?, lang?} -> the Page and its credentials."""
    if not str(body.get("page_id", "")).isdigit() or not body.get("name"):
        raise _bad("a Page needs a numeric page_id and a name")
    page = _world(request).add_page(str(body["page_id"]), str(body["name"]), body.get("username"),
                                    body.get("page_token"), str(body.get("lang", "en")))
    return page_json(page)


@router.get("/pages")
def list_pages(request: Request) -> dict[str, Any]:
    return {"pages": [page_json(p) for p in list(_world(request).pages.values())]}


@router.post("/posts", status_code=201)
def add_post(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """{page_id, message, author?: {name, id?}, back_seconds?}: the Page's post, or a
    visitor's when an author is given."""
    world = _world(request)
    author = _person(world, body["author"], "author") if body.get("author") else None
    post = world.add_post(str(body.get("page_id", "")), str(body.get("message", "")), author,
                          _number(body, "back_seconds", 0))
    return item_json(world, post)


@router.post("/comments", status_code=201)
def add_comment(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """{object_id (a post, or a comment to reply to), message, author?: {name, id?},
    back_seconds?}; without an author the Page itself comments (from Facebook, not the API)."""
    world = _world(request)
    object_id = str(body.get("object_id", ""))
    if body.get("author"):
        author = _person(world, body["author"], "author")
    else:
        post_id = world.comments[object_id].post_id if object_id in world.comments else object_id
        if post_id not in world.posts:
            raise _bad(f"no post or comment {object_id}")
        author = world.posts[post_id].page_id
    comment = world.add_comment(object_id, author, str(body.get("message", "")),
                                back_seconds=_number(body, "back_seconds", 0))
    return item_json(world, comment)


@router.post("/messenger", status_code=201)
def add_messenger(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Explicit: {page_id, text, sender: {name, id?}, back_seconds?}, or the Page answering
    from its inbox: {page_id, text, to: {name, id?}, from_page: true}.
    Generated: {page_id, count, thread_share?, spread_seconds?}."""
    world, page_id = _world(request), str(body.get("page_id", ""))
    if "text" not in body:
        made = graph_traffic.generate(world, page_id, int(_number(body, "count", 1)),
                                      messenger_share=1.0,
                                      thread_share=_number(body, "thread_share", 0.3),
                                      spread_seconds=_number(body, "spread_seconds", 0))
        return {"items": [item_json(world, m) for m in made]}
    from_page = bool(body.get("from_page"))
    person = _person(world, body.get("to" if from_page else "sender"),
                     "to" if from_page else "sender")
    message = world.add_message(page_id, person, str(body["text"]), from_page=from_page,
                                back_seconds=_number(body, "back_seconds", 0))
    return {"items": [item_json(world, message)]}


@router.post("/facebook/traffic", status_code=201)
def add_traffic(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """{page_id, count, messenger_share?, thread_share?, visitor_post_share?,
    page_reply_share?, spread_seconds?}: comments, visitor posts and Messenger, in time order."""
    world = _world(request)
    count = body.get("count", 1)
    if not isinstance(count, int) or not 0 <= count <= 10_000:
        raise _bad("count must be an integer between 0 and 10000")
    made = graph_traffic.generate(
        world, str(body.get("page_id", "")), count,
        messenger_share=_number(body, "messenger_share", 0.3),
        thread_share=_number(body, "thread_share", 0.3),
        visitor_post_share=_number(body, "visitor_post_share", 0.05),
        page_reply_share=_number(body, "page_reply_share", 0.0),
        spread_seconds=_number(body, "spread_seconds", 0),
    )
    return {"items": [item_json(world, m) for m in made]}


@router.get("/facebook/sent")
def list_sent(request: Request, page_id: str | None = None,
              kind: str | None = None) -> dict[str, Any]:
    """What Pages posted through the API: kind comment (public replies) or message (Send API)."""
    items = _world(request).sent_items(page_id)
    return {"sent": [i for i in items if kind in (None, i["kind"])]}
