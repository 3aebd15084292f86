"""Server-rendered pages: templates, full page or htmx fragment, CSRF, the signed-in agent."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.auth import sessions
from app.auth.models import Agent, WebSession
from app.db import SessionDep, utcnow
from app.errors import DomainError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" if (ROOT / "templates").is_dir() else Path.cwd() / "templates"
STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "sb_session"

templates = Jinja2Templates(directory=str(TEMPLATES))


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    seconds = int(((now or utcnow()) - value).total_seconds())
    if seconds < 60:
        return "just now" if seconds < 10 else f"{seconds}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return ""


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def _exact(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%a %d %b %Y, %H:%M:%S UTC") if value else ""


def duration(seconds: float) -> str:
    """A time left as an agent reads it: "45m", "23h 6m", "2d 4h" (app.js says the same)."""
    minutes = max(0, int(seconds)) // 60
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 24 * 60:
        return f"{minutes // 60}h {minutes % 60}m"
    return f"{minutes // (24 * 60)}d {minutes % (24 * 60) // 60}h"


def _until(value: datetime | None, now: datetime | None = None) -> str:
    return duration((value - (now or utcnow())).total_seconds()) if value else ""


templates.env.filters.update(ago=_ago, iso=_iso, exact=_exact, until=_until)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


class LoginRequired(DomainError):
    status_code = 401


class CsrfFailed(DomainError):
    status_code = 403


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("agent", getattr(request.state, "agent", None))
    web: WebSession | None = getattr(request.state, "web_session", None)
    context.setdefault("csrf_token", web.csrf_token if web else "")
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def redirect(request: Request, url: str) -> Response:
    """After a successful POST: HX-Redirect for htmx, 303 otherwise."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def web_agent(request: Request, session: SessionDep) -> Agent:
    found = sessions.current(session, request.cookies.get(COOKIE))
    if found is None:
        raise LoginRequired("please sign in")
    request.state.agent, request.state.web_session = found
    return found[0]


WebAgent = Annotated[Agent, Depends(web_agent)]


def check_csrf(request: Request, agent: WebAgent,
               csrf_token: Annotated[str | None, Form()] = None,
               x_csrf_token: Annotated[str | None, Header()] = None) -> Agent:
    """State-changing requests carry the session's CSRF token (form field or header)."""
    expected = request.state.web_session.csrf_token
    given = csrf_token or x_csrf_token or ""
    if not hmac.compare_digest(expected, given):
        raise CsrfFailed("the form expired or came from elsewhere; reload the page and try again")
    return agent


CsrfAgent = Annotated[Agent, Depends(check_csrf)]
