"""A signed-in browser-like client on the test's own (rolled back) session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.auth.models import Agent
from app.auth.service import create_agent
from app.auth.sessions import sign_in
from app.db import get_session
from app.main import create_app
from app.settings import Settings
from app.web import COOKIE

PASSWORD = "correct horse battery"


@pytest.fixture
def app_client(session: Session, engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def me(session: Session) -> Agent:
    return create_agent(session, email="sam@example.com", name="Sam Agent", role="agent",
                        password=PASSWORD)


@pytest.fixture
def web(app_client: TestClient, session: Session, me: Agent) -> TestClient:
    """Signed in as `me`; `web.csrf` holds the session's CSRF token."""
    token, ws = sign_in(session, email=me.email, password=PASSWORD)
    app_client.cookies.set(COOKIE, token)
    app_client.csrf = ws.csrf_token  # type: ignore[attr-defined]
    return app_client


def soup(response: Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


HTMX = {"HX-Request": "true"}
