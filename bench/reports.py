"""Report functions at scale: every app.reports.service report for a 90-day range.

Builds 1,000,000 messages in 250,000 conversations over a year (by default;
bench/reports_data.py) on SQLite and PostgreSQL (fresh databases, dropped at the end),
computes the derived spans once (the work the first report after the migration does),
then times each report call many times on a fresh session and reports p50 / p95
against the 300 ms target.

Run from the project root:
    .venv/bin/python bench/reports.py [--messages N --conversations N --days N]
        [--range-days 90] [--reps N] [--json] [--explain] [--no-sqlite|--no-postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app import migrate
from app.db import make_engine, session_factory
from app.reports import service as reports
from app.reports.filters import Filters
from bench import reports_data as data
from bench.common import (
    DEFAULT_PG_ADMIN,
    dbapi_connect,
    log,
    postgres_database,
    postgres_problem,
    sqlite_url,
    temp_dir,
    timed,
    timed_call,
)
from bench.inbox_explain import explain

TARGET_MS = 300.0
MIN_REPS = 10
TZ = "Europe/Berlin"


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[Session], Any]


@dataclass
class Result:
    database: str
    case: str
    n: int
    p50_ms: float
    p95_ms: float
    met: bool


@dataclass
class Build:
    database: str
    messages: int
    conversations: int
    spans: int
    load_s: float
    spans_s: float


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--conversations", type=int, default=250_000)
    p.add_argument("--days", type=int, default=365, help="days the data spans, up to NOW")
    p.add_argument("--range-days", type=int, default=90, help="the reports' date range")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reps", type=int, default=50, help="timed calls per case")
    p.add_argument("--budget", type=float, default=30.0,
                   help="seconds per case; slow cases stop early (at least 10 calls)")
    p.add_argument("--explain", action="store_true", help="query plans to stderr")
    p.add_argument("--pg-url", default=DEFAULT_PG_ADMIN)
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return p.parse_args(argv)


# --- building -------------------------------------------------------------------------

def build(database: str, url: str, args: argparse.Namespace) -> Build:
    migrate.upgrade(url)
    engine = make_engine(url)
    spec = data.Spec(args.messages, args.conversations, args.days, args.seed)
    try:
        with session_factory(engine)() as session:
            ids = data.setup(session)
            session.commit()
        sqlite = database == "sqlite"

        def load() -> None:
            conn = dbapi_connect(url)
            try:
                if sqlite:
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.execute("BEGIN")
                for rows in data.generate(spec, ids):
                    data.write(conn, sqlite, rows)
                if sqlite:
                    conn.execute("COMMIT")
                else:
                    conn.commit()
            finally:
                conn.close()

        load_s, _ = timed(load)
        with session_factory(engine)() as session:
            if not sqlite:
                data.fix_sequences(session)
            spans_s, _ = timed(lambda: reports.refresh(session))
            session.commit()
            counts = session.execute(text(
                "SELECT (SELECT COUNT(*) FROM message), (SELECT COUNT(*) FROM conversation),"
                " (SELECT COUNT(*) FROM report_span)")).one()
        analyze(engine, sqlite)
        log(f"  {database}: {counts[0]:,} messages, {counts[1]:,} conversations loaded in "
            f"{load_s:.1f}s; {counts[2]:,} spans computed in {spans_s:.1f}s")
        return Build(database, counts[0], counts[1], counts[2], round(load_s, 1),
                     round(spans_s, 1))
    finally:
        engine.dispose()


def analyze(engine: Any, sqlite: bool) -> None:
    if sqlite:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


# --- measuring ------------------------------------------------------------------------

def cases(factory: sessionmaker[Session], args: argparse.Namespace) -> list[Case]:
    end = data.NOW
    start = end - timedelta(days=args.range_days)
    with factory() as s:
        ids = lambda sql: [r[0] for r in s.execute(text(sql))]  # noqa: E731
        agents, teams = ids("SELECT id FROM agent ORDER BY id"), ids("SELECT id FROM team")
        tags, accounts = ids("SELECT id FROM tag ORDER BY id"), ids("SELECT id FROM account")
        waiting = ids("SELECT conversation_id FROM report_span WHERE end_us IS NULL AND "
                      "closed_us IS NULL AND kind = 'resolution' ORDER BY start_us DESC "
                      "LIMIT 2000")
    every = Filters(start=start, end=end)

    def f(**kw: Any) -> Filters:
        return Filters(start=start, end=end, **kw)

    rng = random.Random(args.seed)
    max_conversation = args.conversations

    def churn(s: Session) -> Any:
        # 50 conversations get a new customer message first: the report recomputes them.
        at = end - timedelta(minutes=5)
        for cid in rng.sample(range(1, max_conversation + 1), 50):
            s.execute(text("INSERT INTO message (conversation_id, platform, direction, text, "
                           "created_at, received_at, is_automated, is_private, raw) VALUES "
                           "(:c, 'x', 'inbound', 'again', :t, :t, FALSE, FALSE, '{}')"),
                      {"c": cid, "t": at.isoformat() if s.get_bind().dialect.name != "sqlite"
                       else at.strftime("%Y-%m-%d %H:%M:%S.%f")})
        return reports.response_times(s, every, now=end)

    now = end
    return [
        Case("response_times", lambda s: reports.response_times(s, every, now=now)),
        Case("response_times platform=facebook",
             lambda s: reports.response_times(s, f(platform="facebook"), now=now)),
        Case("response_times tag", lambda s: reports.response_times(s, f(tag_id=tags[3]),
                                                                    now=now)),
        Case("response_times agent", lambda s: reports.response_times(s, f(agent_id=agents[2]),
                                                                      now=now)),
        Case("response_times team+priority", lambda s: reports.response_times(
            s, f(team_id=teams[1], priority="high"), now=now)),
        Case("response_times, 50 conversations changed", churn),
        Case("sla_summary", lambda s: reports.sla_summary(s, every, now=now)),
        Case("sla_summary account", lambda s: reports.sla_summary(s, f(account_id=accounts[1]),
                                                                  now=now)),
        Case("volumes", lambda s: reports.volumes(s, every, tz=TZ)),
        Case("volumes platform=x", lambda s: reports.volumes(s, f(platform="x"), tz=TZ)),
        Case("backlog", lambda s: reports.backlog(s, every, tz=TZ)),
        Case("busiest_hours", lambda s: reports.busiest_hours(s, every, tz=TZ)),
        Case("agent_table", lambda s: reports.agent_table(s, every)),
        Case("sla_status (page of 50)", lambda s: reports.sla_status(s, waiting[:50], now=now)),
        # app/inbox/breach.py ranks up to 2,000 open conversations by their deadlines.
        Case("sla_status (2,000 open)", lambda s: reports.sla_status(s, waiting, now=now)),
        Case("newly_at_risk (last minute)", lambda s: reports.newly_at_risk(
            s, since=now - timedelta(minutes=1), now=now)),
    ]


def timed_calls(factory: sessionmaker[Session], case: Case, reps: int,
                budget: float) -> list[float]:
    for _ in range(2):  # warm caches
        with factory() as s:
            case.call(s)
            s.rollback()
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < reps and (len(times) < MIN_REPS or time.perf_counter() < deadline):
        times.append(timed_call(factory, case.call))
    return times


def measure(database: str, url: str, args: argparse.Namespace) -> list[Result]:
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        results = []
        for case in cases(factory, args):
            if args.explain:
                explain(engine, factory, case.name, case.call)
            times = timed_calls(factory, case, args.reps, args.budget)
            q = statistics.quantiles(times, n=100, method="inclusive")
            p50, p95 = q[49] * 1000, q[94] * 1000
            results.append(Result(database, case.name, len(times), round(p50, 2),
                                  round(p95, 2), p95 <= TARGET_MS))
            log(f"  {database}: {case.name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                f"({len(times)} calls)")
        return results
    finally:
        engine.dispose()


# --- report ---------------------------------------------------------------------------

def report_text(args: argparse.Namespace, builds: list[Build], results: list[Result],
                notes: list[str]) -> str:
    dbs = list(dict.fromkeys(r.database for r in results))
    by = {(r.database, r.case): r for r in results}
    lines = [f"Reports benchmark: {args.messages:,} messages, {args.conversations:,} "
             f"conversations over {args.days} days; reports for the last {args.range_days} "
             f"days; up to {args.reps} calls per case; seed {args.seed}", ""]
    for b in builds:
        lines.append(f"{b.database}: {b.messages:,} messages, {b.conversations:,} "
                     f"conversations, {b.spans:,} spans; load {b.load_s}s, spans computed "
                     f"from scratch in {b.spans_s}s")
    lines += ["", f"{'case':<44}" + "".join(f"{db + ' p50 / p95 ms':>30}" for db in dbs)]
    for case in dict.fromkeys(r.case for r in results):
        row = f"{case[:43]:<44}"
        for db in dbs:
            r = by.get((db, case))
            cell = "-" if r is None else (f"{r.p50_ms:.1f} / {r.p95_ms:.1f}"
                                          f"{'  ok' if r.met else '  MISSED'}")
            row += f"{cell:>30}"
        lines.append(row)
    missed = [r for r in results if not r.met]
    lines += ["", f"target p95 <= {TARGET_MS:.0f} ms: {len(results) - len(missed)} of "
                  f"{len(results)} met" + ("" if not missed else "; missed: " + ", ".join(
                      f"{r.database} '{r.case}' ({r.p95_ms:.0f} ms)" for r in missed))]
    return "\n".join(lines + [f"note: {n}" for n in notes])


def report_json(args: argparse.Namespace, builds: list[Build], results: list[Result],
                notes: list[str]) -> str:
    config = {k: getattr(args, k) for k in ("messages", "conversations", "days",
                                             "range_days", "seed", "reps", "budget")}
    return json.dumps({"config": config, "target_ms": TARGET_MS,
                       "builds": [asdict(b) for b in builds],
                       "results": [asdict(r) for r in results], "notes": notes}, indent=2)


@contextmanager
def databases(args: argparse.Namespace, notes: list[str]) -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    with ExitStack() as stack:
        if not args.no_sqlite:
            urls["sqlite"] = sqlite_url(stack.enter_context(temp_dir()), "reports")
        if not args.no_postgres:
            problem = postgres_problem(args.pg_url)
            if problem:
                notes.append(f"PostgreSQL unreachable at {args.pg_url} ({problem}); skipped")
                log(notes[-1])
            else:
                urls["postgresql"] = stack.enter_context(postgres_database(args.pg_url))
        yield urls


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    notes: list[str] = []
    builds: list[Build] = []
    results: list[Result] = []
    with databases(args, notes) as urls:
        for database, url in urls.items():
            log(f"{database}: building ...")
            builds.append(build(database, url, args))
            log(f"{database}: measuring ...")
            results += measure(database, url, args)
    print((report_json if args.json else report_text)(args, builds, results, notes))
    return 1 if args.strict and any(not r.met for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
