"""Streams polled at once (the worker's poll_threads): each in its own thread and session,
over real HTTP against the simulator, on committed databases of both kinds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account, Cursor
from app.accounts.service import add_account, make_connector
from app.inbox.models import Conversation, Message
from app.ingest import poller
from app.ingest.poller import Parallel, poll_due
from app.worker import ConnectorCache
from connectors.simulator.faults import Fault
from connectors.simulator.server import SimulatorThread
from connectors.simulator.state import SimState

BRANDS = (("42", "acme"), ("43", "globex"), ("44", "initech"))


@pytest.fixture
def box() -> CredentialBox:
    return CredentialBox(Fernet.generate_key().decode())


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def connect_brands(sessions: sessionmaker[Session], sim: SimState, simulator: SimulatorThread,
                   box: CredentialBox) -> None:
    with sessions() as s:
        for user_id, name in BRANDS:
            brand = sim.add_brand(user_id, name)
            add_account(s, box=box, platform="x", name=f"@{name}",
                        credentials=brand.credentials(), api_base_url=simulator.base_url)
        s.commit()


def count(s: Session, model: type) -> int:
    return s.scalar(select(func.count()).select_from(model)) or 0


def test_every_stream_of_every_account_is_polled_at_once(
        sessions: sessionmaker[Session], sim: SimState, simulator: SimulatorThread,
        box: CredentialBox, pool: ThreadPoolExecutor) -> None:
    connect_brands(sessions, sim, simulator, box)
    for user_id, _ in BRANDS:
        sim.generate_mentions(user_id, 230)  # three pages each
        sim.generate_dms(user_id, 40)
    threads: set[str] = set()
    cache = ConnectorCache(box, timeout=5)

    def connector_for(account: Account):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return cache(account)

    with sessions() as s:
        report = poll_due(s, connector_for, default_interval=60,
                          parallel=Parallel(pool, sessions))

    assert report.errors == []
    assert report.streams == 3 * 3  # mentions, dms, own tweets per account
    assert report.new_messages == 3 * 270
    assert len(threads) > 1  # really side by side, not one after the other
    with sessions() as s:
        assert count(s, Message) == 3 * 270
        per_account = s.execute(select(Conversation.account_id, func.sum(
            Conversation.message_count)).group_by(Conversation.account_id)).all()
        assert sorted(total for _, total in per_account) == [270, 270, 270]
        cursors = s.scalars(select(Cursor)).all()
        assert all(c.leased_until is None and c.last_error is None for c in cursors)
        assert all(c.value for c in cursors if c.stream in ("mentions", "dms"))

    # The next cycle finds nothing new and stores nothing twice.
    with sessions() as s:
        again = poll_due(s, connector_for, default_interval=60, force=True,
                         parallel=Parallel(pool, sessions))
    assert (again.new_messages, again.errors) == (0, [])
    with sessions() as s:
        assert count(s, Message) == 3 * 270


def test_one_failing_account_does_not_stop_the_others(
        sessions: sessionmaker[Session], sim: SimState, simulator: SimulatorThread,
        box: CredentialBox, pool: ThreadPoolExecutor) -> None:
    connect_brands(sessions, sim, simulator, box)
    for user_id, _ in BRANDS:
        sim.generate_mentions(user_id, 5)
    sim.faults.add(Fault(kind="auth_expired", path_prefix="/2/users/43/", count=10))

    with sessions() as s:
        report = poll_due(s, partial(make_connector, box=box, timeout=5), default_interval=60,
                          parallel=Parallel(pool, sessions))

    assert report.new_messages == 10
    assert report.errors and all("@globex" in e for e in report.errors)
    with sessions() as s:
        globex = s.scalars(select(Account).where(Account.name == "@globex")).one()
        assert globex.needs_reconnect


@pytest.mark.parametrize("at_once", [True, False], ids=["at-once", "one-by-one"])
def test_a_database_failure_in_one_stream_is_reported_and_the_rest_go_on(
        sessions: sessionmaker[Session], sim: SimState, simulator: SimulatorThread,
        box: CredentialBox, pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch,
        at_once: bool) -> None:
    parallel = Parallel(pool, sessions) if at_once else None
    connect_brands(sessions, sim, simulator, box)
    for user_id, _ in BRANDS:
        sim.generate_mentions(user_id, 5)
    real_ingest = poller.ingest_batch

    def ingest_or_fail(session: Session, *, account: Account, **kw):  # type: ignore[no-untyped-def]
        if account.name == "@acme" and kw["stream"] == "mentions":  # the first stream
            raise OperationalError("INSERT ...", {}, Exception("deadlock detected"))
        return real_ingest(session, account=account, **kw)

    monkeypatch.setattr(poller, "ingest_batch", ingest_or_fail)
    with sessions() as s:
        report = poll_due(s, partial(make_connector, box=box, timeout=5), default_interval=60,
                          parallel=parallel)

    assert report.streams == 9  # the cycle went on past the failure, to every stream
    assert report.new_messages == 10
    assert report.errors == ["@acme/mentions: database error: OperationalError"]
    with sessions() as s:
        assert count(s, Message) == 10
        failed = s.scalars(select(Cursor).join(Account).where(
            Account.name == "@acme", Cursor.stream == "mentions")).one()
        assert failed.leased_until is None  # free for the next cycle, not stuck for minutes
        assert failed.value is None  # nothing of the failed batch was kept

    monkeypatch.setattr(poller, "ingest_batch", real_ingest)
    with sessions() as s:
        again = poll_due(s, partial(make_connector, box=box, timeout=5), default_interval=60,
                         force=True, parallel=parallel)
    assert (again.new_messages, again.errors) == (5, [])
