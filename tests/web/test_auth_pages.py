"""Signing in and out: cookies, CSRF on the form, throttling, safe redirects."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.models import Agent
from app.web import COOKIE
from tests.web.conftest import HTMX, PASSWORD, soup


def login(client: TestClient, email: str, password: str, next: str = "/inbox"):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = soup(page).find("input", {"name": "login_csrf"})["value"]  # type: ignore[index]
    return client.post("/login", data={"email": email, "password": password,
                                       "login_csrf": token, "next": next})


def test_inbox_needs_sign_in(app_client: TestClient) -> None:
    r = app_client.get("/inbox")
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/inbox")
    r = app_client.get("/inbox", headers=HTMX)
    assert r.headers["HX-Redirect"] == "/login?next=/inbox"


def test_sign_in_sets_a_safe_cookie_and_opens_the_inbox(app_client: TestClient,
                                                        me: Agent) -> None:
    r = login(app_client, "SAM@example.com", PASSWORD)
    assert (r.status_code, r.headers["location"]) == (303, "/inbox")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = app_client.get("/inbox")
    assert page.status_code == 200
    assert "Sam Agent" in soup(page).find("header").text  # type: ignore[union-attr]


def test_wrong_password_says_so_and_sets_nothing(app_client: TestClient, me: Agent) -> None:
    r = login(app_client, me.email, "not it")
    assert r.status_code == 401
    assert "Wrong email or password" in soup(r).find(class_="error").text  # type: ignore[union-attr]
    assert COOKIE not in app_client.cookies


def test_login_form_needs_its_csrf_cookie(app_client: TestClient, me: Agent) -> None:
    r = app_client.post("/login", data={"email": me.email, "password": PASSWORD,
                                        "login_csrf": "forged"})
    assert r.status_code == 403
    assert COOKIE not in app_client.cookies


def test_repeated_failures_are_throttled(app_client: TestClient, me: Agent) -> None:
    for _ in range(5):
        assert login(app_client, me.email, "guess").status_code == 401
    r = login(app_client, me.email, PASSWORD)  # even the right one, for a while
    assert r.status_code == 429
    assert "too many" in r.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_next_never_leaves_the_site(app_client: TestClient, me: Agent, target: str) -> None:
    r = login(app_client, me.email, PASSWORD, next=target)
    assert r.headers["location"] == "/inbox"


def test_sign_out_ends_the_session(web: TestClient) -> None:
    assert web.get("/inbox").status_code == 200
    token = web.cookies[COOKIE]
    r = web.post("/logout", data={"csrf_token": web.csrf})  # type: ignore[attr-defined]
    assert r.headers["location"] == "/login"
    web.cookies.set(COOKIE, token)  # an old cookie is worthless now
    assert web.get("/inbox").status_code == 303


def test_deactivated_agent_is_signed_out(web: TestClient, session: Session, me: Agent) -> None:
    me.is_active = False
    session.add(me)
    session.flush()
    assert web.get("/inbox").status_code == 303
