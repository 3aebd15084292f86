"""The Graph API paths the Facebook connector uses, under /v{version}/.

GET /me, /{node}, /{page}/feed, /{object}/comments, /{page}/conversations, /{thread}/messages;
POST /{object}/comments and /{page}/messages. Every answer is JSON with Graph's Content-Type
and usage headers; errors are Graph error bodies (facebook-sdk ignores the status).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from connectors.simulator.graph_render import (
    Ctx,
    comments_edge,
    conversations_edge,
    feed_edge,
    messages_edge,
    owner_of,
    parse_fields,
    render_node,
    render_page,
)
from connectors.simulator.graph_state import FacebookWorld, GraphError, missing
from connectors.simulator.state import SimState

GRAPH_JSON = "application/json; charset=UTF-8"
GRAPH_PATH = re.compile(r"^/v\d+(\.\d+)?/")
VERSION = re.compile(r"^v(\d+)\.(\d+)$")
OLDEST_VERSION = (19, 0)
# Calls per rolling hour before the usage headers read 100 %; enforced only when
# state.enforce_rate_limits is set (then error 32 for Page reads, 613 for Messenger).
HOURLY_LIMITS = {"pages": 4800, "messenger": 2000}


class GraphJSON(JSONResponse):
    media_type = GRAPH_JSON


class VersionConvertor(Convertor[str]):
    """Matches only a version segment (v21.0), so /_sim/ and X's /2/ never reach Graph routes."""

    regex = r"v\d+(?:\.\d+)?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graph_version", VersionConvertor())
router = APIRouter(default_response_class=GraphJSON)


def world(request: Request) -> FacebookWorld:
    state: SimState = request.app.state.sim
    return state.facebook


@dataclass
class Call:
    ctx: Ctx
    params: dict[str, Any]


async def graph_call(request: Request) -> Call:
    """The version, the Page token (query or form) and the parameters of one Graph request."""
    version = request.path_params["version"]
    match = VERSION.match(version)
    if match is None or (int(match[1]), int(match[2])) < OLDEST_VERSION:
        # facebook-sdk defaults to v2.8, long gone at Meta (platforms.md B1).
        raise GraphError(100, f"(#100) Unsupported API version {version}: the simulator serves "
                         "v19.0 and newer (set graph.version after constructing GraphAPI)")
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        if "json" in request.headers.get("content-type", ""):
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
        else:
            params.update((await request.form()).items())
    token = str(params.pop("access_token", "") or "")
    if not token and request.headers.get("authorization", "").startswith("Bearer "):
        token = request.headers["authorization"][len("Bearer "):]
    facebook = world(request)
    page = facebook.page_for_token(token) if token else None
    if page is None:
        raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
    messenger = re.search(r"/(messages|conversations)$|/t_", request.url.path)
    kind = "messenger" if messenger else "pages"
    _meter(request, page.id, kind)
    base = str(request.base_url).rstrip("/")
    return Call(Ctx(facebook, page, base, version, token), params)


def _meter(request: Request, page_id: str, kind: str) -> None:
    """Count the call and leave the usage headers for the middleware to attach."""
    state: SimState = request.app.state.sim
    limit = HOURLY_LIMITS[kind]
    remaining, reset, over = state.count_call(f"graph:{page_id}:{kind}", limit, window=3600)
    percent = min(100, math.ceil((limit - remaining) * 100 / limit))
    wait = math.ceil(max(reset - state.clock().timestamp(), 0) / 60) if over else 0
    request.state.graph_usage = usage_headers(page_id, kind, percent, wait)
    if state.enforce_rate_limits and over:
        code = 613 if kind == "messenger" else 32
        raise GraphError(code, RATE_LIMIT_MESSAGES[code])


RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}


def usage_headers(page_id: str, kind: str, percent: int, wait_minutes: int) -> dict[str, str]:
    """X-App-Usage and X-Business-Use-Case-Usage as Graph sends them (platforms.md B6)."""
    app = {"call_count": percent, "total_cputime": max(percent - 1, 0), "total_time": percent}
    buc = {page_id: [{"type": kind, **app, "estimated_time_to_regain_access": wait_minutes}]}
    return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(buc)}


# -- routes -----------------------------------------------------------------------------


@router.get("/{version:graph_version}/me")
def get_me(call: Call = Depends(graph_call)) -> Any:
    fields = parse_fields(call.params.get("fields") or "id,name")
    return render_page(call.ctx.page, fields)


@router.get("/{version:graph_version}/{node_id}")
def get_node(node_id: str, call: Call = Depends(graph_call)) -> Any:
    with call.ctx.world.lock:
        return render_node(call.ctx, node_id, call.params)


@router.get("/{version:graph_version}/{node_id}/{edge}")
def get_edge(node_id: str, edge: str, call: Call = Depends(graph_call)) -> Any:
    ctx, facebook = call.ctx, call.ctx.world
    with facebook.lock:
        if edge in ("feed", "conversations"):
            if node_id != ctx.page.id:
                raise GraphError(200, "(#200) The Page token does not belong to this Page")
            read = feed_edge if edge == "feed" else conversations_edge
            return read(ctx, node_id, call.params)
        _owned(call, node_id)
        if edge == "comments":
            return comments_edge(ctx, node_id, call.params)
        if edge == "messages" and node_id in facebook.threads:
            return messages_edge(ctx, node_id, call.params)
        raise GraphError(100, f"(#100) Unknown path components: /{edge}")


@router.post("/{version:graph_version}/{node_id}/{edge}")
def post_edge(node_id: str, edge: str, call: Call = Depends(graph_call)) -> Any:
    ctx, facebook, params = call.ctx, call.ctx.world, call.params
    if edge == "comments":
        comment = facebook.reply_to_object(ctx.page, node_id, str(params.get("message", "")))
        return {"id": comment.id}
    if edge != "messages":
        raise GraphError(100, f"(#100) Unknown path components: /{edge}")
    if node_id not in (ctx.page.id, "me"):
        raise GraphError(200, "(#200) The Page token does not belong to this Page")
    recipient, message = _json_param(params, "recipient"), _json_param(params, "message")
    tag = params.get("tag")
    sent = facebook.send(ctx.page, recipient, params.get("messaging_type"),
                         str(tag) if tag else None, str(message.get("text", "")))
    answer = {"message_id": sent.id}
    if "id" in recipient:  # a comment_id/post_id recipient is not a PSID: no recipient_id
        answer = {"recipient_id": sent.recipient_id, **answer}
    return answer


def _json_param(params: dict[str, Any], name: str) -> dict[str, Any]:
    """Form fields carry JSON text (facebook-sdk), JSON bodies carry objects."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise GraphError(100, f"(#100) param {name} must be a JSON object") from None
    if not isinstance(value, dict):
        raise GraphError(100, f"(#100) param {name} must be non-empty.")
    return value


def _owned(call: Call, node_id: str) -> None:
    """Posts, comments and threads of other Pages look missing, as Graph shows them."""
    if owner_of(call.ctx.world, node_id) != call.ctx.page.id:
        raise missing(node_id)


def graph_error_response(_: Request, exc: Exception) -> GraphJSON:
    assert isinstance(exc, GraphError)
    return GraphJSON(exc.body(), status_code=exc.status)
