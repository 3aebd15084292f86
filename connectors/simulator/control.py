"""The /_sim/ control API: set up brands and traffic, read what was sent, script faults.

Tests in the same process may use SimState directly; this API is for the demo, the app's
tests in another process, and curl.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields as dataclass_fields
from typing import Any

from fastapi import APIRouter, Body, Request

from connectors.simulator.faults import Fault
from connectors.simulator.state import DmEvent, Rejected, SimState, Tweet
from connectors.simulator.x_api import INVALID, render_dm, render_tweet, sim

router = APIRouter(prefix="/_sim")
ALL_TWEET_FIELDS = {"created_at", "author_id", "conversation_id", "in_reply_to_user_id",
                    "referenced_tweets", "entities", "note_tweet"}
ALL_DM_FIELDS = {"sender_id", "created_at", "dm_conversation_id"}
FAULT_FIELDS = {f.name for f in dataclass_fields(Fault)} - {"id"}


def _bad(detail: str) -> Rejected:
    return Rejected(400, "Invalid Request", detail, INVALID)


def _count(body: dict[str, Any]) -> int:
    count = body.get("count", 1)
    if not isinstance(count, int) or not 0 <= count <= 10_000:
        raise _bad("count must be an integer between 0 and 10000")
    return count


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _bad(f"{key} must be a non-negative number")
    return float(value)


def _tweet_id(value: Any) -> int | None:
    if value is None:
        return None
    if not str(value).isdigit():
        raise _bad(f"not a post id: {value!r}")
    return int(value)


def _person(state: SimState, spec: Any, default_name: str) -> str:
    """The id of an explicit author/sender, creating the user when it is new."""
    if not isinstance(spec, dict) or not spec.get("username"):
        raise _bad(f"{default_name} needs at least a username")
    existing = state.user_named(spec["username"])
    # Derived from the name, not hash(): ids must be the same in every process and run.
    derived = int(hashlib.sha256(spec["username"].encode()).hexdigest()[:14], 16)
    user_id = str(spec.get("id") or (existing.id if existing else derived))
    if existing is None or existing.id != user_id:
        state.add_user(user_id, spec["username"], spec.get("name"), spec.get("followers", 0))
    return user_id


@router.post("/brands", status_code=201)
def add_brand(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """{user_id, username, name?, bearer_token?, access_token?} -> the brand's credentials."""
    if not str(body.get("user_id", "")).isdigit() or not body.get("username"):
        raise _bad("a brand needs a numeric user_id and a username")
    try:
        brand = sim(request).add_brand(str(body["user_id"]), body["username"],
                                       body.get("bearer_token"), body.get("access_token"),
                                       body.get("name"))
    except ValueError as exc:
        raise _bad(str(exc)) from None
    return {"user_id": brand.user_id, "username": body["username"],
            "credentials": brand.credentials()}


@router.get("/brands")
def list_brands(request: Request) -> dict[str, Any]:
    state = sim(request)
    return {"brands": [{"user_id": b.user_id, "username": state.user(b.user_id).username,
                        "credentials": b.credentials()} for b in list(state.brands.values())]}


@router.post("/mentions", status_code=201)
def add_mentions(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Explicit: {brand_id, text, author: {username, id?, name?}, in_reply_to?}.
    Generated: {brand_id, count, thread_share?, spread_seconds?}."""
    state, brand_id = sim(request), str(body.get("brand_id", ""))
    brand = state.user(brand_id)
    if "text" in body:
        author = _person(state, body.get("author"), "author")
        text = str(body["text"])
        if f"@{brand.username}".lower() not in text.lower():
            text = f"@{brand.username} {text}"  # a mention is what puts it in the timeline
        tweets = [state.add_tweet(author, text, _tweet_id(body.get("in_reply_to")))]
    else:
        tweets = state.generate_mentions(brand_id, _count(body),
                                         thread_share=_number(body, "thread_share", 0.3),
                                         spread_seconds=_number(body, "spread_seconds", 0))
    return {"tweets": [render_tweet(t, ALL_TWEET_FIELDS) for t in tweets]}


@router.post("/dms", status_code=201)
def add_dms(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Explicit: {brand_id, text, sender: {username, id?, name?}}, into a group with
    `group: [{username, id?}, ...]` (its other members: a new group) or `dm_conversation_id`
    (an existing group). Generated: {brand_id, count}."""
    state, brand_id = sim(request), str(body.get("brand_id", ""))
    state.user(brand_id)
    if "text" in body:
        sender = _person(state, body.get("sender"), "sender")
        text = str(body["text"])
        if "group" in body:
            if not isinstance(body["group"], list):
                raise _bad("group is a list of members: [{username, id?}, ...]")
            others = [_person(state, spec, "a group member") for spec in body["group"]]
            group = state.add_group([sender, brand_id, *others])
            events = [state.add_group_dm(sender, group, text)]
        elif "dm_conversation_id" in body:
            events = [state.add_group_dm(sender, str(body["dm_conversation_id"]), text)]
        else:
            events = [state.add_dm(sender, brand_id, text)]
    else:
        events = state.generate_dms(brand_id, _count(body),
                                    spread_seconds=_number(body, "spread_seconds", 0))
    return {"events": [render_dm(e, ALL_DM_FIELDS) for e in events]}


@router.post("/traffic", status_code=201)
def add_traffic(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """{brand_id, count, dm_share?, thread_share?, spread_seconds?}: posts and DMs mixed."""
    made = sim(request).generate_traffic(
        str(body.get("brand_id", "")), _count(body),
        dm_share=_number(body, "dm_share", 0.3),
        thread_share=_number(body, "thread_share", 0.3),
        spread_seconds=_number(body, "spread_seconds", 0),
    )
    return {"tweets": [render_tweet(t, ALL_TWEET_FIELDS) for t in made if isinstance(t, Tweet)],
            "events": [render_dm(e, ALL_DM_FIELDS) for e in made if isinstance(e, DmEvent)]}


@router.get("/sent")
def list_sent(request: Request, brand_id: str | None = None,
              kind: str | None = None) -> dict[str, Any]:
    items = sim(request).sent_items(brand_id)
    return {"sent": [i for i in items if kind in (None, i["kind"])]}


@router.get("/requests")
def list_requests(request: Request) -> dict[str, Any]:
    return {"requests": sim(request).requests_log()}


@router.post("/faults", status_code=201)
def add_fault(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """{kind, path_prefix?, method?, count?, status?, reset_in?, delay?, process?, body?}."""
    unknown = set(body) - FAULT_FIELDS
    if unknown:
        raise _bad(f"unknown fault fields: {', '.join(sorted(unknown))}")
    try:
        fault = sim(request).faults.add(Fault(**body))
    except (TypeError, ValueError) as exc:
        raise _bad(str(exc)) from None
    return fault.as_json()


@router.get("/faults")
def list_faults(request: Request) -> dict[str, Any]:
    return {"faults": [f.as_json() for f in sim(request).faults.pending()]}


@router.delete("/faults")
def clear_faults(request: Request) -> dict[str, Any]:
    sim(request).faults.clear()
    return {"faults": []}


@router.post("/reset")
def reset(request: Request, body: dict[str, Any] | None = Body(None)) -> dict[str, Any]:
    """Forget traffic, sent items, requests and faults; brands stay. {seed?} re-seeds."""
    seed = (body or {}).get("seed")
    if seed is not None and not isinstance(seed, int):
        raise _bad("seed must be an integer")
    sim(request).reset(seed)
    return {"ok": True}
