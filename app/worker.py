"""The worker: polls due streams and sends due replies, in a loop or one cycle at a time."""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account
from app.accounts.service import make_connector
from app.db import utcnow
from app.inbox.actions import wake_snoozed
from app.inbox.auto_escalate import escalate_at_risk
from app.ingest.poller import Parallel, PollReport, poll_due
from app.outbox.sender import SendReport, send_due
from app.reports.spans import refresh as refresh_reports
from connectors.base import Connector

log = logging.getLogger(__name__)
# On start, clocks that got at risk this recently still trigger the escalation rule.
RISK_LOOKBACK = timedelta(minutes=5)


@dataclass
class CycleReport:
    poll: PollReport
    send: SendReport


class ConnectorCache:
    """One connector (and its HTTP session) per account and thread, rebuilt when the
    account's settings change. Per thread: streams polled at once never share one."""

    def __init__(self, box: CredentialBox, timeout: float = 10.0) -> None:
        self._box, self._timeout = box, timeout
        self._local = threading.local()

    def __call__(self, account: Account) -> Connector:
        if not hasattr(self._local, "cache"):
            self._local.cache = {}
        cache: dict[int, tuple[tuple[str, str | None], Connector]] = self._local.cache
        key = (account.credentials_encrypted, account.api_base_url)
        cached = cache.get(account.id or 0)
        if cached is None or cached[0] != key:
            cached = (key, make_connector(account, self._box, timeout=self._timeout))
            cache[account.id or 0] = cached
        return cached[1]


class Worker:
    def __init__(self, factory: sessionmaker[Session], box: CredentialBox, *,
                 poll_interval: int, timeout: float = 10.0, poll_threads: int = 1) -> None:
        self.factory = factory
        self.connectors = ConnectorCache(box, timeout)
        self.poll_interval = poll_interval
        # Streams polled at once: one slow platform does not hold up the others, and
        # on PostgreSQL their writes go on side by side.
        self.parallel = Parallel(ThreadPoolExecutor(poll_threads, "switchboard-poll"),
                                 factory) if poll_threads > 1 else None
        self._risk_checked: datetime | None = None
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]

    def run_once(self, now: datetime | None = None, *, force: bool = False) -> CycleReport:
        """Poll every due stream (with `force`, every stream not waiting out an error),
        then send every due reply."""
        with self.factory() as session:
            poll = poll_due(session, self.connectors, default_interval=self.poll_interval,
                            worker_id=self.worker_id, now=now, force=force,
                            parallel=self.parallel)
        with self.factory() as session:
            send = send_due(session, self.connectors, now=now)
        with self.factory() as session:
            wake_snoozed(session, now)
            session.commit()
        with self.factory() as session:
            # Keeps the report spans current, so reports and SLA badges stay fast.
            refresh_reports(session)
            session.commit()
        with self.factory() as session:
            checked = now or utcnow()
            escalate_at_risk(session, since=self._risk_checked or checked - RISK_LOOKBACK,
                             now=checked)
            session.commit()
            self._risk_checked = checked
        return CycleReport(poll, send)

    def run_forever(self, stop: threading.Event, tick: float = 1.0) -> None:
        """Cycle until `stop` is set; a failed cycle is logged and the loop goes on (a
        worker that stopped would leave every customer unheard, silently)."""
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                report = self.run_once()
                if report.poll.new_messages or report.send.sent:
                    log.info("polled %d new messages, sent %d replies",
                             report.poll.new_messages, report.send.sent)
            except Exception:
                log.exception("worker cycle failed; retrying")
            stop.wait(tick)
        if self.parallel:
            self.parallel.pool.shutdown()
        log.info("worker %s stopped", self.worker_id)

    def start_thread(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run_forever, args=(stop,), name="switchboard-worker",
                                  daemon=True)
        thread.start()
        return thread, stop
