"""Sign in and out of the web inbox."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.auth import sessions
from app.db import SessionDep
from app.errors import Unauthorized
from app.web import COOKIE, CsrfAgent, redirect, render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF = "sb_login_csrf"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login")
def login_page(request: Request, next: str = "/inbox") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "auth/login.html", login_csrf=token, next=_safe(next))
    # Double-submit cookie: a cross-site form cannot know it.
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=_secure(request))
    return response


@router.post("/login")
def login(request: Request, session: SessionDep, email: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", login_csrf: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/inbox") -> Response:
    def again(message: str, status: int) -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, "auth/login.html", error=message, email=email,
                          login_csrf=token, next=_safe(next), status_code=status)
        response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                            secure=_secure(request))
        return response

    cookie = request.cookies.get(LOGIN_CSRF, "")
    if not cookie or not hmac.compare_digest(cookie, login_csrf):
        return again("The sign-in form expired; please try again.", 403)
    client = request.client.host if request.client else ""
    try:
        token, _ = sessions.sign_in(session, email=email, password=password, client=client)
    except sessions.TooManyAttempts as exc:
        session.commit()
        return again(str(exc), 429)
    except Unauthorized:
        session.commit()  # keeps the failed attempt for throttling
        return again("Wrong email or password.", 401)
    session.commit()
    response = redirect(request, _safe(next))
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
                        max_age=sessions.SESSION_DAYS * 86400)
    response.delete_cookie(LOGIN_CSRF)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, _agent: CsrfAgent) -> Response:
    sessions.sign_out(session, request.cookies.get(COOKIE))
    session.commit()
    response = redirect(request, "/login")
    response.delete_cookie(COOKIE)
    return response


def _safe(target: str) -> str:
    """Only local paths: a sign-in link must not send people elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/inbox"
