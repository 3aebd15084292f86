"""The worker loop survives a failed cycle: a worker that stopped would leave every
customer unheard, with nothing on screen to say so."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine

from app.accounts.crypto import CredentialBox
from app.db import session_factory
from app.worker import CycleReport, Worker


def test_a_cycle_that_raises_is_logged_and_the_next_one_runs(
        engine: Engine, box: CredentialBox, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    worker = Worker(session_factory(engine), box, poll_interval=60)
    stop = threading.Event()
    cycles: list[int] = []

    def run_once(now: object = None, *, force: bool = False) -> CycleReport:
        cycles.append(len(cycles))
        if len(cycles) == 1:
            raise RuntimeError("a bug in one cycle")
        stop.set()
        return real(now, force=force)  # type: ignore[arg-type]

    real = worker.run_once
    monkeypatch.setattr(worker, "run_once", run_once)
    thread = threading.Thread(target=worker.run_forever, args=(stop,), kwargs={"tick": 0.01})
    thread.start()
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert len(cycles) == 2  # the failure did not end the loop
    assert "a bug in one cycle" in caplog.text
