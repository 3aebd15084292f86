"""Fault injection: the next N requests under a path prefix fail in a chosen way.

Faults are consumed in the order they were added, so a test can script a sequence
(e.g. one 429, then one canned page, then normal service).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

KINDS = ("rate_limit", "server_error", "timeout", "malformed", "auth_expired", "canned")


@dataclass
class Fault:
    """One scripted failure.

    rate_limit: 429 with x-rate-limit-reset = now + reset_in. server_error: `status` (503).
    timeout: stall `delay` seconds, then 504; with `process` the request is handled before
    the stall (a post that lands although the client gave up).
    malformed: 200 with a cut-off JSON body. auth_expired: 401.
    canned: `status` (200) with `body`, e.g. a recorded page.
    """

    kind: str
    path_prefix: str = "/2/"
    method: str | None = None
    count: int = 1
    status: int | None = None
    reset_in: int = 60
    delay: float = 5.0
    process: bool = False
    body: Any = None
    id: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        numbers = {"count": self.count, "reset_in": self.reset_in, "delay": self.delay}
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers.values()):
            raise ValueError("count, reset_in and delay must be numbers")
        if self.count < 1:
            raise ValueError("count must be at least 1")
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


def _response(fault: Fault) -> Response:
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
    body = json.dumps(fault.body).encode()
    return Response(body, status_code=fault.status or 200, media_type="application/json")


Handler = Callable[[Request], Awaitable[Response]]


def fault_middleware(plan: FaultPlan) -> Callable[[Request, Handler], Awaitable[Response]]:
    """An HTTP middleware answering with the next matching fault instead of the API."""

    async def apply(request: Request, call_next: Handler) -> Response:
        fault = plan.take(request.method, request.url.path)
        if fault is None:
            return await call_next(request)
        if fault.kind == "timeout":
            # Handled first, answered late: the post lands although the client gave up.
            response = await call_next(request) if fault.process else _response(fault)
            await asyncio.sleep(fault.delay)  # async: other requests are served meanwhile
            return response
        return _response(fault)

    return apply
