"""End-to-end: a real `switchboard serve` process, the X simulator, and Chromium.

One stack for the whole run (session-scoped, to keep the suite fast):
- the simulator on a free 127.0.0.1 port with one brand;
- a fresh SQLite database, migrated, with an agent, a supervisor, a team, canned
  responses and an X account connected to the simulator (through the real add_account);
- `switchboard serve` as a subprocess whose in-process worker polls every second.

Every test makes its own customers and conversations, so tests depend neither on each
other's data nor on their order. Each test gets fresh browser contexts, already signed in
(the sign-in itself goes through the real login form, once per role and run).

Without /usr/bin/chromium the tests are skipped (failed when CI=true); without the
front-end libraries in app/static/vendor they fail and say to run `make install`.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from app import migrate
from app.accounts.crypto import CredentialBox
from app.accounts.service import add_account
from app.auth.models import AgentTeam, Team
from app.auth.service import create_agent
from app.db import make_engine, session_factory
from app.inbox.models import CannedResponse
from app.web import STATIC
from connectors.simulator.server import SimulatorThread
from tests.cli.test_cli import EXE, free_port
from tests.conftest import IN_CI
from tests.e2e.support import (
    ACCOUNT_NAME,
    BRAND_ID,
    BRAND_USERNAME,
    PASSWORD,
    TEAM_NAME,
    TIMEOUT_MS,
    Browsers,
    Stack,
    Staff,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
VENDOR = ("htmx.min.js", "sse.js")


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    missing = [name for name in VENDOR if not (STATIC / "vendor" / name).is_file()]
    if missing:
        pytest.fail(f"app/static/vendor/{', '.join(missing)} missing: the front-end "
                    "libraries are built from npm; run `make install` first", pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        reason = (f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                  "(apt-get install chromium)")
        if IN_CI:
            pytest.fail(f"{reason}; with CI=true that is an error, not a skip", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def simulator(e2e_ready: None) -> Iterator[SimulatorThread]:
    sim = SimulatorThread(seed=11)
    sim.state.add_brand(BRAND_ID, BRAND_USERNAME, name="Acme Help")
    with sim:
        yield sim


def _seed(url: str, key: str, sim: SimulatorThread) -> tuple[Staff, Staff, int]:
    with session_factory(make_engine(url))() as session:
        agent = create_agent(session, email="alice@example.com", name="Alice Agent",
                             role="agent", password=PASSWORD)
        boss = create_agent(session, email="sam@example.com", name="Sam Supervisor",
                            role="supervisor", password=PASSWORD)
        team = Team(name=TEAM_NAME)
        session.add(team)
        session.flush()
        session.add(AgentTeam(agent_id=boss.id or 0, team_id=team.id or 0))
        session.add(CannedResponse(shortcut="thanks", title="Thanks, looking into it",
                                   text="Hi {first_name}, thanks for writing. {agent_name}"))
        session.add(CannedResponse(shortcut="sorry", title="Sorry for the wait",
                                   text="Sorry for the wait, {first_name}!"))
        add_account(session, box=CredentialBox(key), platform="x", name=ACCOUNT_NAME,
                    credentials=sim.state.brands[BRAND_ID].credentials(),
                    api_base_url=sim.base_url)
        session.commit()
        return (Staff(agent.email, agent.name, agent.role, agent.id or 0),
                Staff(boss.email, boss.name, boss.role, boss.id or 0), team.id or 0)


def _wait_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`switchboard serve` exited with {proc.returncode}:\n"
                        f"{log.read_text(errors='replace')[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not come up in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}",
                pytrace=False)


@pytest.fixture(scope="session")
def stack(simulator: SimulatorThread, fresh_db_url: Callable[[str], str],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = fresh_db_url("sqlite")
    migrate.upgrade(url)
    key = Fernet.generate_key().decode()
    agent, boss, team_id = _seed(url, key, simulator)
    workdir = tmp_path_factory.mktemp("serve")  # no stray .env from the checkout
    log = workdir / "serve.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")} | {
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_SECRET_KEY": "e2e-secret-" + "s" * 32,
        "SWITCHBOARD_ENCRYPTION_KEY": key,
        "SWITCHBOARD_POLL_INTERVAL": "1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen([EXE, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    engine = make_engine(url)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_up(base + "/healthz", proc, log)
        yield Stack(base, simulator.state, session_factory(engine), agent, boss, team_id, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        engine.dispose()


# -- the browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(e2e_ready: None) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def _signed_in_states() -> dict[str, Any]:
    return {}


@pytest.fixture
def browsers(browser: Any, stack: Stack,
             _signed_in_states: dict[str, Any]) -> Iterator[Browsers]:
    b = Browsers(browser, stack, _signed_in_states)
    yield b
    b.close()
    assert not b.errors, f"uncaught JavaScript errors in the page: {b.errors}"


@pytest.fixture
def page(browsers: Browsers, stack: Stack) -> Any:
    """A page signed in as the agent (Alice Agent)."""
    return browsers.page(stack.agent)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing browser test shows the server's side of the story too."""
    outcome = yield
    report = outcome.get_result()
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(stack, Stack) and stack.log_path.exists():
        report.sections.append(("switchboard serve log (tail)",
                                stack.log_path.read_text(errors="replace")[-4000:]))
