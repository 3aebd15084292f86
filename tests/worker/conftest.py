"""A simulator on 127.0.0.1 for the run, reset before each test, and accounts connected to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account
from app.accounts.service import add_account, make_connector
from connectors.base import Connector
from connectors.simulator.server import SimulatorThread
from connectors.simulator.state import SimState

TIMEOUT = 1.5  # seconds: room for a loaded machine, still quick for the timeout faults


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorThread]:
    with SimulatorThread(seed=3) as sim:
        yield sim


@pytest.fixture
def sim(simulator: SimulatorThread) -> SimState:
    simulator.state.reset(seed=3)
    return simulator.state


@pytest.fixture(scope="session")
def box() -> CredentialBox:
    return CredentialBox(Fernet.generate_key().decode())


@pytest.fixture
def connect(session: Session, sim: SimState, simulator: SimulatorThread,
            box: CredentialBox) -> Callable[..., Account]:
    """Connect a brand of the simulator as an account, through the real add_account."""

    def make(user_id: str = "42", username: str = "acme", name: str | None = None) -> Account:
        brand = sim.brands.get(user_id) or sim.add_brand(user_id, username)
        return add_account(session, box=box, platform="x", name=name or f"@{username}",
                           credentials=brand.credentials(), api_base_url=simulator.base_url)

    return make


@pytest.fixture
def connector_for(box: CredentialBox) -> Callable[[Account], Connector]:
    return lambda account: make_connector(account, box, timeout=TIMEOUT)
