"""Ingest throughput: app.ingest.service.ingest_batch against a raw DBAPI baseline.

Generates normalized messages (bench/ingest_data.py), ingests them batch by batch
through the real ingest_batch, committing after each batch as the worker does, then
writes the same rows with plain DBAPI executemany (bench/ingest_raw.py)
into a fresh database of the same kind, and compares messages per second.

Run from the project root:  .venv/bin/python bench/ingest.py [--json] [--help]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app import migrate
from app.accounts.models import Account
from app.db import make_engine, session_factory, utcnow
from app.ingest.service import ingest_batch
from app.settings import Settings
from bench import ingest_raw
from bench.common import (
    DEFAULT_PG_ADMIN,
    dbapi_connect,
    log,
    postgres_cpu_spent,
    postgres_database,
    postgres_problem,
    postgres_settings,
    postgres_speed,
    python_speed,
    sqlite_url,
    temp_dir,
    timed,
    usable_cpus,
)
from bench.ingest_data import ACCOUNTS, StreamBatch, batches, generate

SQLITE_RATIO_TARGET = 0.25  # real path >= 25 % of the raw DBAPI rate on SQLite
POSTGRES_RATE_TARGET = 10_000  # real path messages/s on PostgreSQL

FINGERPRINT_SQL = {
    "contacts": "SELECT platform, external_id, handle, name, avatar_url, profile_url,"
                " follower_count FROM contact ORDER BY platform, external_id",
    "conversations": "SELECT a.external_id, c.platform, c.thread_kind, c.external_thread_id,"
                     " ct.external_id, c.status, c.priority, c.cycle_started_at,"
                     " c.waiting_since, c.first_message_at, c.last_message_at,"
                     " c.last_inbound_at, c.last_outbound_at, c.resolved_at,"
                     " c.last_message_text, c.message_count FROM conversation c"
                     " JOIN account a ON a.id = c.account_id"
                     " LEFT JOIN contact ct ON ct.id = c.contact_id"
                     " ORDER BY c.thread_kind, c.external_thread_id",
    "messages": "SELECT m.platform, m.external_id, c.thread_kind, c.external_thread_id,"
                " m.direction, ct.external_id, m.text, m.created_at,"
                " m.in_reply_to_external_id, m.url, m.is_automated, m.is_private,"
                " m.delivery_state, m.raw FROM message m"
                " JOIN conversation c ON c.id = m.conversation_id"
                " LEFT JOIN contact ct ON ct.id = m.author_contact_id"
                " ORDER BY m.platform, m.external_id",
    "cursors": "SELECT a.external_id, k.stream, k.value FROM cursor k"
               " JOIN account a ON a.id = k.account_id ORDER BY 1, 2",
}


@dataclass(frozen=True)
class Work:
    """The generated input, shared by every run."""

    batches: list[StreamBatch]
    messages: int

    @property
    def streams(self) -> int:
        return len({(b.spec.account, b.spec.stream) for b in self.batches})


@dataclass(frozen=True)
class Options:
    """How the real path runs."""

    profile: Path | None = None
    analyze_every: int = 0
    threads: int = 1  # streams ingested at once, as the worker's poll_threads
    repeat: int = 1  # runs of the PostgreSQL streams-at-once path; the median is judged


@dataclass
class Stopwatch:
    """Wall-clock and this process's CPU seconds, summed over the laps."""

    wall: float = 0.0
    cpu: float = 0.0

    @contextmanager
    def lap(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu


@dataclass
class Run:
    path: str  # "real", "real-parallel" or "raw"
    messages: int
    seconds: float
    cpu_seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    digest: str = ""
    profiled: bool = False
    server_cpu_seconds: float | None = None  # PostgreSQL's processes, where /proc tells
    # Streams at once: how many had batches left, on average over the run. Streams differ
    # in size, so the bigger ones run on alone at the end.
    streams_busy: float | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def cpu_per_batch_ms(self, batch: int) -> float | None:
        """Milliseconds of CPU, this process's and the server's, per `batch` messages
        stored: the cost that bounds the rate when every CPU is busy."""
        if self.server_cpu_seconds is None or not self.messages:
            return None
        return (self.cpu_seconds + self.server_cpu_seconds) / self.messages * batch * 1000

    def rate_bound(self, cpus: int) -> float | None:
        """Messages/s this many CPUs could reach at this run's CPU cost, if kept busy."""
        per_message = self.cpu_per_batch_ms(1)
        return cpus * 1000 / per_message if per_message else None


@dataclass
class DbResult:
    database: str
    real: Run
    raw: Run
    parallel: Run | None = None  # the real path, streams at once as the worker polls them
    repeats: list[Run] = field(default_factory=list)  # every run of it, when repeated

    @property
    def runs(self) -> list[Run]:
        return [self.real, *([self.parallel] if self.parallel else []), self.raw]

    @property
    def parallel_rates(self) -> list[float]:
        return [run.rate for run in self.repeats]

    @property
    def ratio(self) -> float:
        return self.real.rate / self.raw.rate if self.raw.rate else 0.0

    @property
    def same_rows(self) -> bool:
        return all((run.rows, run.digest) == (self.raw.rows, self.raw.digest)
                   for run in [*self.runs, *self.repeats])


@dataclass
class Target:
    name: str
    wanted: str
    value: float | None
    met: bool | None  # None: not measured


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--messages", type=int, default=100_000, help="messages to ingest")
    p.add_argument("--conversations", type=int, default=25_000, help="threads they form")
    p.add_argument("--contacts", type=int, default=20_000, help="people writing in")
    p.add_argument("--batch", type=int, default=100, help="messages per ingest_batch call")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated input")
    p.add_argument("--pg-url", default=DEFAULT_PG_ADMIN,
                   help="admin URL; a fresh database is created next to it and dropped")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="run the real path under cProfile, write DIR/real-<db>.prof and "
                        "print the top functions to stderr (its rate is then not comparable)")
    p.add_argument("--analyze-every", type=int, default=0, metavar="N",
                   help="run ANALYZE after every N batches of the real path, outside the "
                        "timing (stands in for autovacuum; 0, the default: never)")
    p.add_argument("--threads", type=int, default=Settings.model_fields["poll_threads"].default,
                   help="also run the real path with this many streams at once, each in "
                        "its own thread and session, as the worker polls them "
                        "(SWITCHBOARD_POLL_THREADS); 1: only one stream at a time")
    p.add_argument("--repeat", type=int, default=3, metavar="N",
                   help="run the PostgreSQL streams-at-once path N times (fresh databases) "
                        "and judge the middle run")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def make_work(args: argparse.Namespace) -> Work:
    seconds, messages = timed(lambda: generate(args.messages, args.conversations,
                                               args.contacts, args.seed))
    work = Work(batches=batches(messages, args.batch), messages=len(messages))
    log(f"generated {work.messages:,} messages in {len(work.batches):,} batches "
        f"({seconds:.1f}s)")
    return work


# --- the real path -------------------------------------------------------------------

def run_real(url: str, work: Work, opts: Options, label: str) -> Run:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        accounts = orm_accounts(factory)
        profiler = cProfile.Profile() if opts.profile else None
        server: list[float] = []
        with profiler or nullcontext(), server_cpu(url, server):
            watch = Stopwatch()
            written = ingest_real(factory, accounts, work.batches, watch,
                                  lambda: analyze(engine), opts.analyze_every)
    finally:
        engine.dispose()
    if profiler and opts.profile:
        dump_profile(profiler, opts.profile / f"real-{label}.prof")
    run = Run("real", written, watch.wall, watch.cpu, profiled=profiler is not None,
              server_cpu_seconds=server[0] if server else None)
    return fingerprint(url, run)


def server_cpu(url: str, into: list[float]) -> AbstractContextManager[None]:
    """The server's CPU seconds, for PostgreSQL (SQLite's work is this process's)."""
    return nullcontext() if url.startswith("sqlite") else postgres_cpu_spent(into)


def run_parallel(url: str, work: Work, threads: int) -> Run:
    """The real path with streams at once: each stream's batches in order, in a thread
    and session of its own, `threads` streams at a time (the worker's poll_threads)."""
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=threads)
    try:
        factory = session_factory(engine)
        accounts = orm_accounts(factory)
        streams: dict[tuple[str, str], list[StreamBatch]] = {}
        for batch in work.batches:
            streams.setdefault((batch.spec.account, batch.spec.stream), []).append(batch)
        watch, server = Stopwatch(), []
        laps = [Stopwatch() for _ in streams]
        with server_cpu(url, server), watch.lap(), ThreadPoolExecutor(threads) as pool:
            written = sum(pool.map(lambda batches, lap: ingest_real(
                factory, accounts, batches, lap, lambda: None, 0), streams.values(), laps))
    finally:
        engine.dispose()
    return fingerprint(url, Run("real-parallel", written, watch.wall, watch.cpu,
                                server_cpu_seconds=server[0] if server else None,
                                streams_busy=sum(lap.wall for lap in laps) / watch.wall))


def orm_accounts(factory: sessionmaker[Session]) -> dict[str, Account]:
    with factory() as session:
        accounts = {
            spec.key: Account(platform=spec.platform.value, name=spec.name,
                              external_id=spec.external_id, handle=spec.handle)
            for spec in ACCOUNTS.values()
        }
        session.add_all(accounts.values())
        session.commit()
    return accounts


def ingest_real(factory: sessionmaker[Session], accounts: dict[str, Account],
                work: Sequence[StreamBatch], watch: Stopwatch, analyze: Callable[[], None],
                analyze_every: int) -> int:
    """One session and one commit per batch, as the worker does; returns messages stored.

    Only the batches run on the stopwatch (ANALYZE does not).
    """
    written = 0
    for number, batch in enumerate(work, start=1):
        with watch.lap(), factory() as session:
            result = ingest_batch(session, account=accounts[batch.spec.account],
                                  stream=batch.spec.stream, messages=batch.messages,
                                  cursor=batch.cursor)
            session.commit()
        written += result.new_messages
        if analyze_every and number % analyze_every == 0:
            analyze()
    return written


def analyze(engine: Engine) -> None:
    """Refresh planner statistics, as autovacuum (or nothing, on SQLite) would."""
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def dump_profile(profiler: cProfile.Profile, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(path)
    log(f"profile written to {path}")
    for order in ("cumulative", "tottime"):
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats(order).print_stats(30)


# --- the raw DBAPI baseline ----------------------------------------------------------

def run_raw(url: str, work: Work) -> Run:
    migrate.upgrade(url)  # the schema only; the rows go in through the DBAPI
    sqlite = url.startswith("sqlite")
    dialect = ingest_raw.SQLITE if sqlite else ingest_raw.POSTGRES
    conn = dbapi_connect(url)
    try:
        if sqlite:
            ingest_raw.sqlite_pragmas(conn)
        state = ingest_raw.create_accounts(conn, dialect, utcnow())
        watch, server = Stopwatch(), []
        with server_cpu(url, server), watch.lap():
            written = ingest_raw.ingest(conn, dialect, state, work.batches, utcnow)
    finally:
        conn.close()
    return fingerprint(url, Run("raw", written, watch.wall, watch.cpu,
                                server_cpu_seconds=server[0] if server else None))


# --- checking that both wrote the same rows -------------------------------------------

def fingerprint(url: str, run: Run) -> Run:
    """Row counts and a digest of what was stored (ids and ingest-time stamps left out)."""
    digest = hashlib.sha256()
    conn = dbapi_connect(url)
    try:
        for table, sql in FINGERPRINT_SQL.items():
            cur = conn.cursor()
            cur.execute(sql)
            count = 0
            for row in cur:
                digest.update(repr(row).encode())
                count += 1
            run.rows[table] = count
    finally:
        conn.close()
    run.digest = digest.hexdigest()[:16]
    return run


# --- one database kind --------------------------------------------------------------

def bench_sqlite(work: Work, opts: Options) -> DbResult:
    with temp_dir() as tmp:
        real = announce("sqlite", "real", lambda: run_real(sqlite_url(tmp, "real"), work,
                                                           opts, "sqlite"))
        parallel = announce("sqlite", f"real, {opts.threads} streams at once",
                            lambda: run_parallel(sqlite_url(tmp, "parallel"), work,
                                                 opts.threads)) if opts.threads > 1 else None
        raw = announce("sqlite", "raw", lambda: run_raw(sqlite_url(tmp, "raw"), work))
    return DbResult("sqlite", real, raw, parallel)


def bench_postgres(work: Work, admin_url: str, opts: Options) -> DbResult:
    with postgres_database(admin_url) as url:
        real = announce("postgresql", "real", lambda: run_real(url, work, opts, "postgresql"))
    parallel, runs = None, []
    if opts.threads > 1:
        # Several runs, each on a fresh database: one run's rate moves by +-7 % with
        # what else the machine does, enough to flip the verdict either way.
        for i in range(opts.repeat):
            with postgres_database(admin_url) as url:
                runs.append(announce(
                    "postgresql", f"real, {opts.threads} streams at once ({i + 1}/{opts.repeat})",
                    partial(run_parallel, url, work, opts.threads)))
        # The median run (the lower of the middle two for an even count), kept in order.
        middle = statistics.median_low(run.rate for run in runs)
        parallel = next(run for run in runs if run.rate == middle)
    with postgres_database(admin_url) as url:
        raw = announce("postgresql", "raw", lambda: run_raw(url, work))
    return DbResult("postgresql", real, raw, parallel, runs)


def postgres_notes(admin_url: str) -> list[str]:
    """Server settings that change how the figures read."""
    found = postgres_settings(admin_url, ("autovacuum", "synchronous_commit", "fsync",
                                          "shared_buffers"))
    notes = [f"PostgreSQL {found.get('server_version', '?')}: " + ", ".join(
        f"{k}={v}" for k, v in sorted(found.items()) if k != "server_version")]
    if found.get("autovacuum") == "off":
        notes.append("autovacuum is off on this server: nothing analyzes the tables during "
                     "the run unless --analyze-every is given")
    return notes


def announce(database: str, path: str, fn: Callable[[], Run]) -> Run:
    log(f"{database}: {path} path ...")
    run = fn()
    log(f"{database}: {path} path: {run.messages:,} messages in {run.seconds:.2f}s "
        f"= {run.rate:,.0f} msg/s")
    return run


# --- targets and report -------------------------------------------------------------

def targets(results: dict[str, DbResult]) -> list[Target]:
    lite, pg = results.get("sqlite"), results.get("postgresql")
    # PostgreSQL: judged as the worker ingests, streams at once when it is set up so.
    pg_run = pg and (pg.parallel or pg.real)
    return [
        Target("sqlite: real path / raw DBAPI", f">= {SQLITE_RATIO_TARGET:.2f}",
               lite.ratio if lite else None,
               lite.ratio >= SQLITE_RATIO_TARGET if lite else None),
        Target("postgresql: real path messages/s"
               + (" (streams at once)" if pg_run and pg_run.path == "real-parallel" else ""),
               f">= {POSTGRES_RATE_TARGET:,}", pg_run.rate if pg_run else None,
               pg_run.rate >= POSTGRES_RATE_TARGET if pg_run else None),
    ]


def report_text(args: argparse.Namespace, work: Work, results: dict[str, DbResult],
                goals: list[Target], notes: list[str]) -> str:
    lines = [
        f"Ingest benchmark: {work.messages:,} messages, {args.conversations:,} conversations, "
        f"{args.contacts:,} contacts; batches of {args.batch} ({len(work.batches):,} "
        f"batches, one commit each); seed {args.seed}"
        + (f"; ANALYZE every {args.analyze_every} batches" if args.analyze_every else ""),
        "",
        f"{'database':<11} {'path':<16} {'seconds':>8} {'cpu s':>7} {'server s':>8} "
        f"{'msg/s':>9}   rows stored",
    ]
    for res in results.values():
        for run in res.runs:
            name = {"real": "real path", "raw": "raw DBAPI"}.get(
                run.path, f"real, {args.threads} at once")
            flag = " (under cProfile)" if run.profiled else ""
            rows = " / ".join(f"{n:,} {t}" for t, n in run.rows.items() if t != "cursors")
            server = "-" if run.server_cpu_seconds is None else f"{run.server_cpu_seconds:.2f}"
            lines.append(f"{res.database:<11} {name:<16} {run.seconds:>8.2f} "
                         f"{run.cpu_seconds:>7.2f} {server:>8} {run.rate:>9,.0f}   {rows}{flag}")
        same = "identical" if res.same_rows else "DIFFERENT"
        if len(res.parallel_rates) > 1:
            rates = " / ".join(f"{rate:,.0f}" for rate in res.parallel_rates)
            lines.append(f"{res.database:<11} {'runs at once':<16} {'':>8} {'':>7} {'':>8} "
                         f"{'':>9}   {rates} msg/s (run order); the median is judged")
        if res.parallel:
            lines.append(f"{res.database:<11} {'at once':<16} {'':>8} {'':>7} {'':>8} "
                         f"{res.parallel.rate / res.real.rate:>9.2f}x  the real path with "
                         f"{args.threads} streams at once, against one at a time")
            if res.parallel.streams_busy is not None:
                lines.append(f"{res.database:<11} {'streams busy':<16} {'':>8} {'':>7} "
                             f"{'':>8} {res.parallel.streams_busy:>9.2f}   of "
                             f"{work.streams} streams had batches left, on average "
                             "(the bigger streams run on alone at the end)")
        lines.append(f"{res.database:<11} {'real/raw':<16} {'':>8} {'':>7} {'':>8} "
                     f"{res.ratio:>9.3f}   stored rows of both paths: {same}")
        lines += cpu_budget_lines(res, args.batch)
    lines += ["", "targets:"]
    for goal in goals:
        verdict = {True: "MET", False: "MISSED", None: "not measured"}[goal.met]
        value = "-" if goal.value is None else f"{goal.value:,.3f}" if goal.value < 10 \
            else f"{goal.value:,.0f}"
        lines.append(f"  {goal.name:<36} {value:>9}  (target {goal.wanted}): {verdict}")
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def cpu_budget_lines(res: DbResult, batch: int) -> list[str]:
    """Where the server's CPU is counted: the cost of a batch, and the rate this
    machine's CPUs could reach at that cost if every one of them were kept busy."""
    cpus = usable_cpus()
    lines = []
    for run in res.runs:
        cost, bound = run.cpu_per_batch_ms(batch), run.rate_bound(cpus)
        if cost is None or bound is None or run.server_cpu_seconds is None or run.profiled:
            continue
        name = {"real": "real path", "raw": "raw DBAPI"}.get(run.path, "real, at once")
        app = run.cpu_seconds / run.messages * batch * 1000
        server = run.server_cpu_seconds / run.messages * batch * 1000
        lines.append(f"{res.database:<11} {'cpu/' + str(batch) + ' msgs':<16} "
                     f"{name}: {app:.1f} ms here + {server:.1f} ms server = {cost:.1f} ms;"
                     f" {cpus} CPUs kept busy at that cost: {bound:,.0f} msg/s at most"
                     f" (the server's share alone: {cpus * 1000 * batch / server:,.0f})")
    return lines


def report_json(args: argparse.Namespace, work: Work, results: dict[str, DbResult],
                goals: list[Target], notes: list[str]) -> str:
    def run_dict(run: Run) -> dict[str, Any]:
        return {"messages": run.messages, "seconds": round(run.seconds, 4),
                "cpu_seconds": round(run.cpu_seconds, 4),
                "server_cpu_seconds": None if run.server_cpu_seconds is None
                else round(run.server_cpu_seconds, 4),
                "cpu_ms_per_batch": run.cpu_per_batch_ms(args.batch),
                "messages_per_s": round(run.rate, 1), "rows": run.rows,
                "digest": run.digest, "profiled": run.profiled,
                "streams_busy": run.streams_busy}

    return json.dumps({
        "config": {"messages": work.messages, "conversations": args.conversations,
                   "contacts": args.contacts, "batch": args.batch,
                   "batches": len(work.batches), "seed": args.seed, "threads": args.threads,
                   "repeat": args.repeat,
                   "analyze_every": args.analyze_every},
        "databases": {
            name: {"real": run_dict(r.real), "raw": run_dict(r.raw),
                   "real_parallel": run_dict(r.parallel) if r.parallel else None,
                   "real_parallel_rates": [round(rate, 1) for rate in r.parallel_rates],
                   "ratio_real_to_raw": round(r.ratio, 4), "same_rows": r.same_rows}
            for name, r in results.items()
        },
        "targets": [asdict(goal) for goal in goals],
        "notes": notes,
    }, indent=2)


def load_note(start: float) -> str:
    """The machine's load: figures taken on a busy machine do not compare."""
    end, cpus = os.getloadavg()[0], os.cpu_count() or 1
    note = f"load average {start:.1f} before the run, {end:.1f} after it, on {cpus} CPUs"
    if start > cpus / 2:
        note += (": the machine was busy, figures are unreliable (disk-bound raw DBAPI "
                 "suffers more than the CPU-bound real path, which flatters the ratio)")
    return note


def machine_speed_note(pg_url: str | None) -> str:
    """Fixed CPU-only work, timed: this machine's speed changes from day to day (and
    within one), so runs from different days compare only with this beside them."""
    note = f"machine speed: Python adds {SPEED_WORK:,} integers in {python_speed(SPEED_WORK):.2f} s"
    seconds = postgres_speed(pg_url, SPEED_WORK) if pg_url else None
    if seconds is not None:
        note += f", PostgreSQL counts {SPEED_WORK:,} rows in {seconds:.2f} s"
    return note + " (best of 3; lower is faster)"


SPEED_WORK = 5_000_000


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load_at_start = os.getloadavg()[0]
    work = make_work(args)
    opts = Options(profile=args.profile, analyze_every=args.analyze_every,
                   threads=args.threads, repeat=args.repeat)
    results: dict[str, DbResult] = {}
    notes: list[str] = []
    if not args.no_sqlite:
        results["sqlite"] = bench_sqlite(work, opts)
    if not args.no_postgres:
        problem = postgres_problem(args.pg_url)
        if problem:
            notes.append(f"PostgreSQL unreachable at {args.pg_url} ({problem}); skipped")
            log(notes[-1])
        else:
            results["postgresql"] = bench_postgres(work, args.pg_url, opts)
            notes += postgres_notes(args.pg_url)
    if args.profile:
        notes.append("the real path ran under cProfile: its rate is not comparable")
    if args.analyze_every and "postgresql" in results:
        notes.append("the server CPU of the one-stream real path includes its ANALYZEs")
    notes.append(load_note(load_at_start))
    notes.append(machine_speed_note(None if args.no_postgres else args.pg_url))
    goals = targets(results)
    report = report_json if args.json else report_text
    print(report(args, work, results, goals, notes))
    missed = any(goal.met is False for goal in goals)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
