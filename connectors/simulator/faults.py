"""Fault injection: the next N requests under a path prefix fail in a chosen way.

Faults are consumed in the order they were added, so a test can script a sequence
(e.g. one 429, then one canned page, then normal service).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

KINDS = ("rate_limit", "server_error", "timeout", "malformed", "auth_expired", "canned",
         "graph_error", "usage")
GRAPH_PATH = re.compile(r"^/v\d+(\.\d+)?/")
GRAPH_JSON = "application/json; charset=UTF-8"
GRAPH_MESSAGES = {
    1: "An unknown error has occurred.",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) Application does not have permission for this action",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    100: "(#100) Invalid parameter",
    190: "Error validating access token: Session has expired on Thursday, 09-Apr-15 15:00:00 "
         "PDT. The current time is Friday, 10-Apr-15 10:00:00 PDT.",
    200: "(#200) Requires pages_messaging permission to manage the object",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}


@dataclass
class Fault:
    """One scripted failure.

    rate_limit: 429 with x-rate-limit-reset = now + reset_in. server_error: `status` (503).
    timeout: stall `delay` seconds, then 504; with `process` the request is handled before
    the stall (a post that lands although the client gave up).
    malformed: 200 with a cut-off JSON body. auth_expired: 401.
    canned: `status` (200) with `body`, e.g. a recorded page; `content_type` for a body
    that is not JSON (a string body is then sent as it is; "" sends no Content-Type).

    On Graph paths (/v21.0/...) the answers are Graph's: rate_limit is error `code` (4; also
    17, 32, 613) with usage headers at 100 % and estimated_time_to_regain_access from
    `reset_in`; server_error carries error 2; auth_expired is error 190 (`subcode`, 463).
    graph_error: a Graph error body with `code`, `subcode`, `message`, on `status` (400; 200
    works too, the SDK ignores the status). usage: the request is carried out, its usage
    headers report `usage` percent.
    """

    kind: str
    path_prefix: str = "/2/"
    method: str | None = None
    count: int = 1
    skip: int = 0  # matching requests let through first (a fault on the second page, say)
    status: int | None = None
    reset_in: int = 60
    delay: float = 5.0
    process: bool = False
    body: Any = None
    code: int | None = None
    subcode: int | None = None
    message: str | None = None
    usage: int | None = None
    content_type: str | None = None
    id: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        numbers = {"count": self.count, "reset_in": self.reset_in, "delay": self.delay,
                   "skip": self.skip}
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers.values()):
            raise ValueError("count, reset_in and delay must be numbers")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.skip < 0:
            raise ValueError("skip must not be negative")
        if self.method:
            self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The pending faults, shared by the request threads and the control API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def problem(status: int, title: str, detail: str | None = None,
            type_: str = "about:blank") -> dict[str, Any]:
    """X's v2 problem body, which tweepy turns into exception messages."""
    return {"title": title, "type": type_, "status": status, "detail": detail or title}


def graph_usage(percent: int, wait_minutes: int = 0) -> dict[str, str]:
    app = {"call_count": percent, "total_cputime": percent, "total_time": percent}
    buc = {"0": [{"type": "pages", **app, "estimated_time_to_regain_access": wait_minutes}]}
    return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(buc)}


def _graph_response(fault: Fault) -> Response | None:
    """The Graph-shaped answer to a fault, or None where the X one fits (timeouts, canned)."""
    code = fault.code
    headers: dict[str, str] = {}
    if fault.kind == "rate_limit":
        code = code or 4
        headers = graph_usage(100, math.ceil(fault.reset_in / 60))
    elif fault.kind == "server_error":
        code = code or 2
    elif fault.kind == "auth_expired":
        code = code or 190
    elif fault.kind == "malformed":
        return Response(b'{"data": [{"id": "10', media_type=GRAPH_JSON)
    elif fault.kind != "graph_error":
        return None
    code = code or 100
    error: dict[str, Any] = {"message": fault.message or GRAPH_MESSAGES.get(code, f"(#{code})"),
                             "type": "OAuthException", "code": code,
                             "fbtrace_id": f"AsimFault{fault.id:04d}"}
    subcode = fault.subcode or (463 if code == 190 else None)
    if subcode is not None:
        error["error_subcode"] = subcode
    if code in (1, 2):
        error["is_transient"] = True
    status = fault.status or (503 if fault.kind == "server_error" else 400)
    body = json.dumps({"error": error}).encode()
    return Response(body, status_code=status, media_type=GRAPH_JSON, headers=headers)


def _response(fault: Fault, path: str = "") -> Response:
    if GRAPH_PATH.match(path):
        graph = _graph_response(fault)
        if graph is not None:
            return graph
    if fault.kind == "rate_limit":
        return JSONResponse(
            problem(429, "Too Many Requests"),
            status_code=429,
            headers={
                "x-rate-limit-limit": "900",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + fault.reset_in),
            },
        )
    if fault.kind == "server_error":
        status = fault.status or 503
        return JSONResponse(problem(status, "Service Unavailable"), status_code=status)
    if fault.kind == "malformed":
        return Response(b'{"data": [{"id": "18', media_type="application/json")
    if fault.kind == "auth_expired":
        return JSONResponse(problem(401, "Unauthorized"), status_code=401)
    if fault.kind == "timeout":
        return JSONResponse(problem(504, "Gateway Timeout"), status_code=504)
    media_type = fault.content_type if fault.content_type is not None else (
        GRAPH_JSON if GRAPH_PATH.match(path) else "application/json")
    if isinstance(fault.body, str) and fault.content_type is not None:
        raw = fault.body.encode()  # e.g. an HTML error page from a proxy
    else:
        raw = json.dumps(fault.body).encode()
    # content_type "" sends no Content-Type at all (facebook-sdk then fails, platforms.md B3).
    return Response(raw, status_code=fault.status or 200, media_type=media_type or None)


Handler = Callable[[Request], Awaitable[Response]]


def fault_middleware(plan: FaultPlan) -> Callable[[Request, Handler], Awaitable[Response]]:
    """An HTTP middleware answering with the next matching fault instead of the API."""

    async def apply(request: Request, call_next: Handler) -> Response:
        path = request.url.path
        fault = plan.take(request.method, path)
        if fault is None:
            return await call_next(request)
        if fault.kind == "usage":
            response = await call_next(request)
            for name, value in graph_usage(fault.usage or 100, 0).items():
                response.headers[name] = value
            return response
        if fault.kind == "timeout":
            # Handled first, answered late: the post lands although the client gave up.
            response = await call_next(request) if fault.process else _response(fault, path)
            await asyncio.sleep(fault.delay)  # async: other requests are served meanwhile
            return response
        return _response(fault, path)

    return apply
