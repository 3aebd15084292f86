"""Benchmark: a full catch-up poll against the simulator, and the cost of an idle cycle.

The simulator holds 10,000 mentions and 2,000 DMs over 5 X accounts (by default). The
real poller (app.ingest.poller.poll_due) fetches every stream through the real X
connector over HTTP on 127.0.0.1 and ingests into a fresh database. Reports messages/s,
the API calls made, and the API calls of the idle cycle that follows (target: one per
stream).

    .venv/bin/python bench/poll.py [--mentions 10000] [--dms 2000] [--accounts 5]
                                   [--no-postgres] [--pg-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402

from app import migrate  # noqa: E402
from app.accounts.crypto import CredentialBox  # noqa: E402
from app.accounts.service import add_account  # noqa: E402
from app.db import make_engine, session_factory  # noqa: E402
from app.ingest.poller import poll_due  # noqa: E402
from app.worker import ConnectorCache  # noqa: E402
from bench.common import (  # noqa: E402
    DEFAULT_PG_ADMIN,
    log,
    postgres_database,
    postgres_problem,
    sqlite_url,
    temp_dir,
    timed,
)
from connectors.simulator.server import SimulatorThread  # noqa: E402
from connectors.simulator.state import SimState  # noqa: E402


def fill(state: SimState, accounts: int, mentions: int, dms: int) -> list[str]:
    brands = []
    for n in range(accounts):
        brand_id = str(4200 + n)
        state.add_brand(brand_id, f"brand{n}")
        state.generate_mentions(brand_id, mentions // accounts, spread_seconds=6 * 24 * 3600)
        state.generate_dms(brand_id, dms // accounts, spread_seconds=6 * 24 * 3600)
        brands.append(brand_id)
    return brands


def run_one(url: str, sim: SimulatorThread, brands: list[str]) -> dict[str, Any]:
    migrate.upgrade(url)
    engine = make_engine(url)
    box = CredentialBox(Fernet.generate_key().decode())
    factory = session_factory(engine)
    with factory() as session:
        for brand_id in brands:
            add_account(session, box=box, platform="x", name=f"brand {brand_id}",
                        credentials=sim.state.brands[brand_id].credentials(),
                        api_base_url=sim.base_url)
        session.commit()
    connectors = ConnectorCache(box, timeout=30)
    requests_before = len(sim.state.requests)
    with factory() as session:
        seconds, report = timed(lambda: poll_due(session, connectors, default_interval=60))
    catchup_requests = len(sim.state.requests) - requests_before
    with factory() as session:
        idle = poll_due(session, connectors, default_interval=60, force=True)
    engine.dispose()
    return {
        "messages": report.new_messages, "seconds": round(seconds, 2),
        "messages_per_s": round(report.new_messages / seconds),
        "api_calls": catchup_requests, "streams": report.streams,
        "idle_api_calls": idle.api_calls, "idle_streams": idle.streams,
        "idle_new_messages": idle.new_messages, "errors": report.errors + idle.errors,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mentions", type=int, default=10_000)
    p.add_argument("--dms", type=int, default=2_000)
    p.add_argument("--accounts", type=int, default=5)
    p.add_argument("--pg-url", default=DEFAULT_PG_ADMIN)
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    results: dict[str, Any] = {}
    for kind in ("sqlite", "postgresql"):
        if kind == "postgresql" and (args.no_postgres or postgres_problem(args.pg_url)):
            log("PostgreSQL skipped")
            continue
        # A fresh simulator per database, so both catch up on the same traffic.
        state = SimState(seed=11)
        brands = fill(state, args.accounts, args.mentions, args.dms)
        with SimulatorThread(state) as sim:
            if kind == "sqlite":
                with temp_dir() as tmp:
                    results[kind] = run_one(sqlite_url(tmp, "poll"), sim, brands)
            else:
                with postgres_database(args.pg_url) as url:
                    results[kind] = run_one(url, sim, brands)
        log(f"{kind}: {results[kind]}")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for kind, r in results.items():
        target = "met" if r["idle_api_calls"] == r["idle_streams"] else "MISSED"
        print(f"{kind:<10} catch-up: {r['messages']} messages in {r['seconds']} s = "
              f"{r['messages_per_s']} msg/s, {r['api_calls']} API calls for {r['streams']} "
              f"streams; idle cycle: {r['idle_api_calls']} calls for {r['idle_streams']} "
              f"streams (target one per stream: {target})")


if __name__ == "__main__":
    main()
