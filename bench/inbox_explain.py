"""Query plans for the inbox benchmark's cases (bench/inbox.py --explain).

Runs a case once while recording its SELECTs, then asks the database how it runs each
one: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite. Goes to
stderr with the rest of the progress output.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from bench.common import log


def explain(engine: Engine, factory: sessionmaker[Session], name: str,
            call: Callable[[Session], Any]) -> None:
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
             _executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with factory() as session:
            call(session)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        for statement, params in captured:
            start = time.perf_counter()
            conn.exec_driver_sql(statement, params).all()
            ms = (time.perf_counter() - start) * 1000
            if postgres:
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = "\n".join(f"    {row[0]}" for row in rows)
            else:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                plan = "\n".join(f"    {row[0]:>4} {row[1]:>4}  {row[3]}" for row in rows)
            log(f"--- {name} ({ms:.2f} ms)\n    {' '.join(statement.split())}\n"
                f"    params: {params}\n{plan}")
