"""An app whose requests use the test's own session (rolled back after the test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import get_session
from app.main import create_app
from app.settings import Settings


@pytest.fixture
def client(session: Session, engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as c:
        yield c
