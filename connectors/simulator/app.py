"""The simulator's ASGI app: platform routers, fault injection, rate-limit headers, control API.

Each platform is one router over the shared SimState: `x_api` (/2/...) and `graph_api`
(/v21.0/...). X answers carry x-rate-limit-* headers, Graph answers Meta's usage headers.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.responses import Response

from connectors.simulator import control, graph_api, graph_control, x_api
from connectors.simulator.faults import GRAPH_PATH, Handler, fault_middleware, problem
from connectors.simulator.graph_state import GraphError
from connectors.simulator.state import Rejected, SimState

PLATFORM_ROUTERS = [x_api.router, graph_api.router]
CONTROL_PREFIX = "/_sim"

# Per-endpoint 15-minute limits, roughly X's per-user figures; the rest get DEFAULT_LIMIT.
LIMITS = {
    "GET /2/users/:id/mentions": 300,
    "GET /2/users/:id/tweets": 900,
    "GET /2/dm_events": 300,
    "POST /2/tweets": 200,
    "GET /2/users/me": 75,
}
DEFAULT_LIMIT = 900


def _family(method: str, path: str) -> str:
    """GET /2/users/42/mentions -> GET /2/users/:id/mentions (the version segment stays)."""
    version, _, rest = path.lstrip("/").partition("/")
    return f"{method} /{version}/{re.sub(r'(?<![^/])[0-9][0-9-]*(?=/|$)', ':id', rest)}"


def create_app(state: SimState | None = None) -> FastAPI:
    """A simulator over `state` (a fresh one by default), reachable as app.state.sim."""
    app = FastAPI(title="Switchboard platform simulator", docs_url=None, redoc_url=None)
    app.state.sim = state or SimState()
    sim: SimState = app.state.sim
    for router in PLATFORM_ROUTERS:
        app.include_router(router)
    app.include_router(control.router)
    app.include_router(graph_control.router)
    app.add_exception_handler(Rejected, x_api.rejected_response)
    app.add_exception_handler(GraphError, graph_api.graph_error_response)

    async def invalid_body(_: Request, exc: Exception) -> JSONResponse:
        # The platforms answer a malformed request with 400, not FastAPI's 422.
        detail = str(exc.errors()) if isinstance(exc, RequestValidationError) else str(exc)
        body = problem(400, "Invalid Request", detail[:500], x_api.INVALID)
        return JSONResponse(body, status_code=400)

    app.add_exception_handler(RequestValidationError, invalid_body)

    inject = fault_middleware(sim.faults)

    @app.middleware("http")
    async def faults(request: Request, call_next: Handler) -> Response:
        if request.url.path.startswith(CONTROL_PREFIX):
            return await call_next(request)
        return await inject(request, call_next)

    @app.middleware("http")
    async def record_and_meter(request: Request, call_next: Handler) -> Response:
        path = request.url.path
        if path.startswith(CONTROL_PREFIX):
            return await call_next(request)
        entry: dict[str, Any] = {"method": request.method, "path": path,
                                 "query": dict(request.query_params)}
        sim.record_request(entry)
        if GRAPH_PATH.match(path):
            # graph_api meters per Page (it knows the token) and leaves the headers here.
            request.state.graph_usage = {}
            answer = await call_next(request)
            entry["status"] = answer.status_code
            for name, value in request.state.graph_usage.items():
                answer.headers.setdefault(name, value)
            return answer
        family = _family(request.method, path)
        limit = LIMITS.get(family, DEFAULT_LIMIT)
        remaining, reset, over = sim.count_call(family, limit)
        if sim.enforce_rate_limits and over:
            response: Response = JSONResponse(problem(429, "Too Many Requests"), status_code=429)
        else:
            response = await call_next(request)
        entry["status"] = response.status_code
        # A 429 fault brings its own figures; every other answer gets the window's.
        for name, value in (("limit", limit), ("remaining", remaining), ("reset", reset)):
            response.headers.setdefault(f"x-rate-limit-{name}", str(value))
        return response

    return app
