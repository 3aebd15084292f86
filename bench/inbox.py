"""Inbox read paths at scale: list, conversation view, view counts and search.

Builds 1,000,000 messages in 250,000 conversations (by default) through the real ingest
service (bench/inbox_data.py), on SQLite and on PostgreSQL (fresh databases, dropped at
the end), then times the service calls the web inbox makes, in-process, each many times
on a fresh session, and reports p50 / p95 against the targets.

Run from the project root:
    .venv/bin/python bench/inbox.py [--messages N --conversations N] [--json]
                                    [--keep DIR] [--explain] [--no-sqlite|--no-postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import gc
import json
import random
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.auth.models import Agent
from app.db import make_engine, session_factory
from app.inbox.service import (
    ConversationFilter,
    Sort,
    count_conversations,
    get_conversation,
    list_conversations,
    thread,
)
from app.inbox.views import VIEWS, view_filter
from bench import inbox_data
from bench.common import (
    DEFAULT_PG_ADMIN,
    log,
    postgres_database,
    postgres_problem,
    sqlite_path,
    sqlite_url,
    temp_dir,
    timed_call,
)
from bench.inbox_data import RARE_WORD, UNIQUE_REF, Fixture, Spec
from bench.inbox_explain import explain

TARGETS_MS = {"list": 25.0, "conversation": 20.0, "count": None, "search": 50.0}
MIN_REPS = 10


@dataclass(frozen=True)
class Case:
    group: str  # list, conversation, count, search
    name: str
    call: Callable[[Session], Any]


@dataclass
class Result:
    database: str
    group: str
    case: str
    n: int
    p50_ms: float
    p95_ms: float
    target_ms: float | None
    met: bool | None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--conversations", type=int, default=250_000)
    p.add_argument("--contacts", type=int, help="default: conversations / 2")
    p.add_argument("--batch", type=int, default=500, help="messages per ingest_batch call")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reps", type=int, default=200, help="timed calls per case")
    p.add_argument("--budget", type=float, default=20.0,
                   help="seconds per case; slow cases stop early (at least 10 calls)")
    p.add_argument("--only", metavar="TEXT", default="",
                   help="measure only the cases whose group or name contains TEXT")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep the built databases and reuse them next time: the SQLite file "
                        "in DIR, the PostgreSQL database under a name made of the arguments "
                        "(drop it yourself)")
    p.add_argument("--explain", action="store_true",
                   help="print each case's query plans (EXPLAIN ANALYZE / QUERY PLAN) to stderr")
    p.add_argument("--pg-url", default=DEFAULT_PG_ADMIN,
                   help="admin URL; a fresh database is created next to it and dropped")
    p.add_argument("--pg-options", default="", metavar="OPTIONS",
                   help="libpq options for the measuring connections, e.g. "
                        "'-c max_parallel_workers_per_gather=0'")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    if args.contacts is None:
        args.contacts = max(2, args.conversations // 2)
    return args


# --- what is measured ------------------------------------------------------------------

def cases(fx: Fixture, factory: sessionmaker[Session], seed: int) -> list[Case]:
    def listing(sort: Sort = Sort.WAITING, **filters: Any) -> Callable[[Session], Any]:
        f = ConversationFilter(**filters)
        return lambda s: list_conversations(s, filters=f, sort=sort, limit=50)

    with factory() as s:  # the second page needs the first page's cursor
        cursor = list_conversations(s, filters=ConversationFilter(), limit=50).next_cursor
    rng = random.Random(seed)

    def counting(f: ConversationFilter) -> Callable[[Session], Any]:
        return lambda s: count_conversations(s, f)

    def conversation(s: Session) -> Any:
        conv = get_conversation(s, rng.randint(1, fx.max_conversation_id))
        return thread(s, conv)

    agent = Agent(id=fx.agent_ids[3], email="", name="", password_hash="")
    out = [
        Case("list", "default (no filter)", listing()),
        Case("list", "status open", listing(status="open")),
        Case("list", "platform x", listing(platform="x")),
        Case("list", "account (Facebook page)", listing(account_id=fx.account_ids[-1])),
        Case("list", "assignee", listing(assignee_id=fx.agent_ids[3])),
        Case("list", "unassigned", listing(unassigned=True)),
        Case("list", "team", listing(team_id=fx.team_ids[2])),
        Case("list", "tag", listing(tag_id=fx.tag_ids[4])),
        # About 96 % of its conversations are answered: the waiting run holds few of them.
        Case("list", "tag, mostly answered", listing(tag_id=fx.tag_ids[1])),
        Case("list", "tag, sort newest", listing(Sort.NEWEST, tag_id=fx.tag_ids[4])),
        Case("list", "priority urgent", listing(priority="urgent")),
        Case("list", "escalated (Sort.ESCALATED)", listing(Sort.ESCALATED, escalated=True)),
        Case("list", "sort newest", listing(Sort.NEWEST)),
        Case("list", "second page (next_cursor)",
             lambda s: list_conversations(s, filters=ConversationFilter(), limit=50,
                                          cursor=cursor)),
        Case("list", "view Mine (open + assignee)",
             listing(status="open", assignee_id=fx.agent_ids[3])),
        Case("list", "view Unassigned (open + unassigned)",
             listing(status="open", unassigned=True)),
        Case("conversation", "get_conversation + thread (random)", conversation),
    ]
    for view in VIEWS:
        out.append(Case("count", f"view {view.label}", counting(view_filter(view.key, agent))))
    for label, q in (("common word", "refund"), ("two common words", "order refund"),
                     ("prefix", "refu"), ("German word", "Drucker"), ("umlaut word", "für"),
                     ("rare word", RARE_WORD), ("one in 50,000", UNIQUE_REF),
                     ("contact name", "Priya"), ("contact handle", fx.contact_handle),
                     ("no match", "xylophone")):
        out.append(Case("search", f"{label}: {q}", listing(q=q)))
    out.append(Case("search", "view All open + common word: refund",
                    listing(status="open", q="refund")))
    return out


def timed_rounds(factory: sessionmaker[Session], all_cases: list[Case], reps: int,
                 budget: float) -> list[list[float]]:
    """Seconds per call, a fresh session each time as a request has, case after case in
    rounds, so that a burst of load elsewhere on the machine spreads over every case."""
    for case in all_cases:  # warm the caches and the statement cache
        for _ in range(3):
            with factory() as s:
                case.call(s)
    times: list[list[float]] = [[] for _ in all_cases]
    for _ in range(reps):
        for case, spent in zip(all_cases, times, strict=True):
            if len(spent) >= MIN_REPS and sum(spent) > budget:
                continue
            spent.append(timed_call(factory, case.call))
    return times


def measure(database: str, url: str, args: argparse.Namespace) -> list[Result]:
    options = args.pg_options if database == "postgresql" else ""
    engine = make_engine(url, **({"connect_args": {"options": options}} if options else {}))
    try:
        factory = session_factory(engine)
        all_cases = [case for case in cases(inbox_data.fixture(engine), factory, args.seed)
                     if args.only in f"{case.group}: {case.name}"]
        if args.explain:
            for case in all_cases:
                explain(engine, factory, case.name, case.call)
        results = []
        for case, times in zip(all_cases, timed_rounds(factory, all_cases, args.reps,
                                                       args.budget), strict=True):
            q = statistics.quantiles(times, n=100, method="inclusive")
            target = TARGETS_MS[case.group]
            p50, p95 = q[49] * 1000, q[94] * 1000
            results.append(Result(database, case.group, case.name, len(times), round(p50, 3),
                                  round(p95, 3), target, None if target is None else p95 <= target))
            log(f"  {database}: {case.group}: {case.name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
                f"({len(times)} calls)")
        return results
    finally:
        engine.dispose()


# --- report ---------------------------------------------------------------------------

def report_text(args: argparse.Namespace, results: list[Result], notes: list[str]) -> str:
    dbs = list(dict.fromkeys(r.database for r in results))
    by = {(r.database, r.group, r.case): r for r in results}
    keys = list(dict.fromkeys((r.group, r.case) for r in results))
    head = f"{'':<13}{'case':<44}" + "".join(f"{db + ' p50 / p95 ms':>30}" for db in dbs)
    lines = [
        f"Inbox benchmark: {args.messages:,} messages, {args.conversations:,} conversations, "
        f"{args.contacts:,} contacts; up to {args.reps} calls per case (at least {MIN_REPS}, "
        f"{args.budget:.0f}s budget); seed {args.seed}"
        + (f"; PostgreSQL options {args.pg_options!r}" if args.pg_options else ""),
        "", head + "   target p95",
    ]
    for group, case in keys:
        row = f"{group:<13}{case[:43]:<44}"
        for db in dbs:
            r = by.get((db, group, case))
            mark = "" if r is None or r.met is None else "  ok" if r.met else "  MISSED"
            row += f"{'-' if r is None else f'{r.p50_ms:.2f} / {r.p95_ms:.2f}{mark}':>30}"
        target = TARGETS_MS[group]
        lines.append(row + (f"   <= {target:.0f} ms" if target else "   -"))
    missed = [r for r in results if r.met is False]
    lines += ["", f"targets: {sum(r.met is True for r in results)} of "
                  f"{sum(r.met is not None for r in results)} met"
              + ("" if not missed else "; missed: " + ", ".join(
                  f"{r.database} {r.group} '{r.case}' ({r.p95_ms:.1f} ms)" for r in missed))]
    return "\n".join(lines + [f"note: {n}" for n in notes])


def report_json(args: argparse.Namespace, results: list[Result], notes: list[str]) -> str:
    config = {k: getattr(args, k) for k in ("messages", "conversations", "contacts", "batch",
                                             "seed", "reps", "budget", "pg_options")}
    return json.dumps({"config": config, "targets_ms": TARGETS_MS,
                       "results": [asdict(r) for r in results], "notes": notes}, indent=2)


# --- main -----------------------------------------------------------------------------

@contextmanager
def databases(args: argparse.Namespace, notes: list[str]) -> Iterator[dict[str, str]]:
    """Every database built (the messages generated once), then the messages freed."""
    spec = Spec(args.messages, args.conversations, args.contacts, args.batch, args.seed)
    urls: dict[str, str] = {}
    jobs: dict[str, str] = {}
    with ExitStack() as stack:
        scratch = stack.enter_context(temp_dir())
        kept = inbox_data.cache_path(args.keep, spec) if args.keep else None
        if not args.no_sqlite:
            urls["sqlite"] = f"sqlite:///{kept}" if kept else sqlite_url(scratch, "inbox")
            if kept and kept.exists():
                log(f"sqlite: reusing {kept}")
            else:
                jobs["sqlite"] = sqlite_url(scratch, "inbox")
        if not args.no_postgres:
            problem = postgres_problem(args.pg_url)
            if problem:
                notes.append(f"PostgreSQL unreachable at {args.pg_url} ({problem}); skipped")
                log(notes[-1])
            elif args.keep:
                url, ready = inbox_data.kept_postgres(args.pg_url, spec)
                urls["postgresql"] = url
                if not ready:
                    jobs["postgresql"] = url + inbox_data.BUILDING
            else:
                urls["postgresql"] = jobs["postgresql"] = stack.enter_context(
                    postgres_database(args.pg_url))
        if jobs:
            messages = inbox_data.make_messages(spec)
            log(f"building {' and '.join(jobs)} ...")
            inbox_data.build_all(jobs, spec, messages)
            del messages
            gc.collect()  # a million live objects would make every full collection a pause
        if args.keep and "postgresql" in jobs:
            inbox_data.finish_kept_postgres(args.pg_url, jobs["postgresql"])
        if "sqlite" in jobs:
            if kept:
                inbox_data.store_in_cache(Path(sqlite_path(jobs["sqlite"])), kept)
            else:
                urls["sqlite"] = jobs["sqlite"]
        yield urls


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    notes: list[str] = []
    results: list[Result] = []
    with databases(args, notes) as urls:
        # A full collection of this process's heap takes ~50 ms whichever call triggers
        # it: a property of the process (a server would freeze after start-up too), not
        # of the query measured.
        gc.collect()
        gc.freeze()
        notes.append("measured after gc.freeze(): no full garbage collection pauses")
        for database, url in urls.items():
            log(f"{database}: measuring ...")
            results += measure(database, url, args)
    report = report_json if args.json else report_text
    print(report(args, results, notes))
    return 1 if args.strict and any(r.met is False for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
