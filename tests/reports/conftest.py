"""Fixtures for the report tests: an account and two agents."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from tests import factories as f


@pytest.fixture
def acc(session: Session) -> Account:
    return f.account(session, platform="x")


@pytest.fixture
def alex(session: Session) -> Agent:
    return f.agent(session, name="Alex")


@pytest.fixture
def sam(session: Session) -> Agent:
    return f.agent(session, name="Sam")
