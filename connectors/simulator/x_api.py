"""The X API v2 paths the connector uses, answering with X's JSON shapes.

Only requested fields are returned (as X does), so a connector that forgets to ask for a
field sees it missing here before it sees it missing in production.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from connectors.simulator.state import (
    Brand,
    DmEvent,
    Rejected,
    SimState,
    Tweet,
    User,
    conversation_key,
)
from connectors.x_text import MAX_WEIGHTED_LENGTH, weighted_length

router = APIRouter(prefix="/2")
INVALID = "https://api.twitter.com/2/problems/invalid-request"


def sim(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


@dataclass(frozen=True, slots=True)
class Principal:
    brand: Brand
    user_context: bool  # False: an app-only bearer token, refused by user endpoints

    def require_user(self) -> None:
        if not self.user_context:
            raise Rejected(
                403, "Unsupported Authentication",
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint."
                "  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User "
                "Context].",
                "https://api.twitter.com/2/problems/unsupported-authentication",
            )


def principal(request: Request) -> Principal:
    """Bearer tokens and OAuth 1.0a headers; signatures are not checked (platforms.md A5)."""
    header = request.headers.get("authorization", "")
    token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
    if header.startswith("OAuth "):
        match = re.search(r'oauth_token="([^"]*)"', header)
        token = unquote(match.group(1)) if match else ""
    found = sim(request).brand_for_token(token) if token else None
    if found is None:
        raise Rejected(401, "Unauthorized", "Unauthorized")
    return Principal(*found)


def iso(moment: datetime) -> str:
    """X always sends milliseconds; tweepy's parser fails without them (platforms.md A2)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fields(request: Request, name: str) -> set[str]:
    return {f for f in request.query_params.get(name, "").split(",") if f}


# -- paging -----------------------------------------------------------------------------

Item = TypeVar("Item", Tweet, DmEvent)


def encode_token(last_id: int) -> str:
    return base64.b32encode(f"sim{last_id}".encode()).decode().rstrip("=").lower()


def decode_token(token: str) -> int:
    try:
        raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode()
        return int(raw.removeprefix("sim"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Rejected(400, "Invalid Request", f"The `pagination_token` [{token}] is invalid",
                       INVALID) from None


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise Rejected(400, "Invalid Request", f"The `{name}` query parameter value [{raw}] "
                       "is not valid", INVALID)
    return int(raw)


def _time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(400, "Invalid Request", f"The `{name}` query parameter value [{raw}] "
                       "is not a valid RFC3339 date-time", INVALID) from None


def select_page(request: Request, items: Sequence[Item], low: int, default: int
                ) -> tuple[list[Item], str | None]:
    """One page of newest-first items after the query's filters, and the next page's token."""
    size = _int_param(request, "max_results") or default
    if not low <= size <= 100:
        raise Rejected(400, "Invalid Request", f"The `max_results` query parameter value "
                       f"[{size}] is not between {low} and 100", INVALID)
    since, until = _int_param(request, "since_id"), _int_param(request, "until_id")
    start, end = _time_param(request, "start_time"), _time_param(request, "end_time")
    token = request.query_params.get("pagination_token")
    before = decode_token(token) if token else None
    kept = [
        item for item in items
        if (since is None or item.id > since) and (until is None or item.id < until)
        and (before is None or item.id < before)
        and (start is None or item.created_at >= start) and (end is None or item.created_at <= end)
    ]
    page = kept[:size]
    return page, encode_token(page[-1].id) if len(kept) > size else None


# -- rendering --------------------------------------------------------------------------


def render_user(user: User, wanted: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
    if "profile_image_url" in wanted:
        data["profile_image_url"] = user.avatar
    if "public_metrics" in wanted:
        data["public_metrics"] = {"followers_count": user.followers, "following_count": 0,
                                  "tweet_count": 0, "listed_count": 0}
    return data


def render_tweet(tweet: Tweet, wanted: set[str]) -> dict[str, Any]:
    tid = str(tweet.id)
    # A longer post (X Premium) comes with its text cut short and the whole in note_tweet.
    note = weighted_length(tweet.text) > MAX_WEIGHTED_LENGTH
    data: dict[str, Any] = {"edit_history_tweet_ids": [tid], "id": tid,
                            "text": tweet.text[:MAX_WEIGHTED_LENGTH] if note else tweet.text}
    optional: dict[str, Any] = {
        "created_at": iso(tweet.created_at),
        "author_id": tweet.author_id,
        "conversation_id": str(tweet.conversation_id),
        "in_reply_to_user_id": tweet.in_reply_to_user_id,
        "referenced_tweets": ([{"type": "replied_to", "id": str(tweet.replied_to)}]
                              if tweet.replied_to else None),
        "entities": ({"mentions": [{"start": s, "end": e, "username": u.username, "id": u.id}
                                   for s, e, u in tweet.mentions]} if tweet.mentions else None),
        "note_tweet": {"text": tweet.text} if note else None,
    }
    # X leaves out empty fields rather than sending nulls.
    data.update({k: v for k, v in optional.items() if k in wanted and v is not None})
    return data


def render_dm(event: DmEvent, wanted: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"event_type": "MessageCreate", "id": str(event.id), "text": event.text}
    optional = {"sender_id": event.sender_id, "created_at": iso(event.created_at),
                "dm_conversation_id": event.dm_conversation_id}
    data.update({k: v for k, v in optional.items() if k in wanted})
    return data


def tweet_page(request: Request, tweets: list[Tweet]) -> dict[str, Any]:
    page, token = select_page(request, tweets, low=5, default=10)
    if not page:
        return {"meta": {"result_count": 0}}
    state, expansions = sim(request), fields(request, "expansions")
    user_ids = {t.author_id for t in page} if "author_id" in expansions else set()
    if "in_reply_to_user_id" in expansions:
        user_ids |= {t.in_reply_to_user_id for t in page if t.in_reply_to_user_id}
    meta: dict[str, Any] = {"result_count": len(page), "newest_id": str(page[0].id),
                            "oldest_id": str(page[-1].id)}
    return _envelope([render_tweet(t, fields(request, "tweet.fields")) for t in page],
                     [state.user(uid) for uid in sorted(user_ids)], request, meta, token)


def dm_page(request: Request, events: list[DmEvent]) -> dict[str, Any]:
    types = fields(request, "event_types")
    if types and "MessageCreate" not in types:
        events = []  # the simulator only knows MessageCreate events
    page, token = select_page(request, events, low=1, default=100)
    if not page:
        return {"meta": {"result_count": 0}}
    state = sim(request)
    senders = {e.sender_id for e in page} if "sender_id" in fields(request, "expansions") else set()
    return _envelope([render_dm(e, fields(request, "dm_event.fields")) for e in page],
                     [state.user(uid) for uid in sorted(senders)], request,
                     {"result_count": len(page)}, token)


def _envelope(data: list[dict[str, Any]], users: list[User], request: Request,
              meta: dict[str, Any], token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": data}
    if users:
        wanted = fields(request, "user.fields")
        body["includes"] = {"users": [render_user(u, wanted) for u in users]}
    if token:
        meta["next_token"] = token
    body["meta"] = meta
    return body


# -- routes -----------------------------------------------------------------------------


@router.get("/users/me")
def get_me(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    who.require_user()
    user = sim(request).user(who.brand.user_id)
    return {"data": render_user(user, fields(request, "user.fields"))}


@router.get("/users/{user_id}/mentions")
def get_mentions(user_id: str, request: Request, who: Principal = Depends(principal)) -> Any:
    state = sim(request)
    state.user(user_id)
    return tweet_page(request, state.mentions_of(user_id))


@router.get("/users/{user_id}/tweets")
def get_user_tweets(user_id: str, request: Request, who: Principal = Depends(principal)) -> Any:
    state = sim(request)
    state.user(user_id)
    return tweet_page(request, state.timeline_of(user_id))


@router.get("/dm_events")
def get_dm_events(request: Request, who: Principal = Depends(principal)) -> Any:
    who.require_user()
    return dm_page(request, sim(request).dm_events_of(who.brand.user_id))


@router.get("/dm_conversations/with/{participant_id}/dm_events")
def get_dm_events_with(participant_id: str, request: Request,
                       who: Principal = Depends(principal)) -> Any:
    who.require_user()
    key = _conversation_with(request, who, participant_id)
    return dm_page(request, sim(request).dm_events_of(who.brand.user_id, key))


@router.get("/dm_conversations/{dm_conversation_id}/dm_events")
def get_dm_conversation_events(dm_conversation_id: str, request: Request,
                               who: Principal = Depends(principal)) -> Any:
    who.require_user()
    return dm_page(request, sim(request).dm_events_of(who.brand.user_id, dm_conversation_id))


@router.post("/tweets", status_code=201)
def post_tweet(request: Request, body: dict[str, Any] = Body(...),
               who: Principal = Depends(principal)) -> Any:
    who.require_user()
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Rejected(400, "Invalid Request", "The `text` field is required", INVALID)
    if weighted_length(text) > MAX_WEIGHTED_LENGTH:  # X's count, not code points
        raise Rejected(403, "Forbidden", "Your Tweet text is too long.")
    reply = body.get("reply") or {}
    parent = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
    if parent is not None and not str(parent).isdigit():
        raise Rejected(400, "Invalid Request", f"Invalid tweet id [{parent}]", INVALID)
    tweet = sim(request).add_tweet(who.brand.user_id, text, int(parent) if parent else None,
                                   via_api=True)
    return {"data": {"edit_history_tweet_ids": [str(tweet.id)], "id": str(tweet.id),
                     "text": tweet.text}}


@router.post("/dm_conversations/with/{participant_id}/messages", status_code=201)
def post_dm_with(participant_id: str, request: Request, body: dict[str, Any] = Body(...),
                 who: Principal = Depends(principal)) -> Any:
    who.require_user()
    event = sim(request).add_dm(who.brand.user_id, participant_id, _dm_text(body), via_api=True)
    return {"data": {"dm_conversation_id": event.dm_conversation_id, "dm_event_id": str(event.id)}}


@router.post("/dm_conversations/{dm_conversation_id}/messages", status_code=201)
def post_dm_in(dm_conversation_id: str, request: Request, body: dict[str, Any] = Body(...),
               who: Principal = Depends(principal)) -> Any:
    who.require_user()
    event = sim(request).send_dm_to_conversation(who.brand.user_id, dm_conversation_id,
                                                 _dm_text(body))
    return {"data": {"dm_conversation_id": event.dm_conversation_id, "dm_event_id": str(event.id)}}


def _dm_text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Rejected(400, "Invalid Request", "A message needs `text` or attachments", INVALID)
    return text


def _conversation_with(request: Request, who: Principal, participant_id: str) -> str:
    sim(request).user(participant_id)
    return conversation_key(who.brand.user_id, participant_id)


def rejected_response(_: Request, exc: Exception) -> JSONResponse:
    """Rejected -> X's problem JSON (tweepy reads `detail` and `errors`)."""
    assert isinstance(exc, Rejected)
    body = {"title": exc.title, "type": exc.type, "status": exc.status, "detail": exc.detail}
    if exc.status == 400:
        body["errors"] = [{"message": exc.detail}]
    return JSONResponse(body, status_code=exc.status)
