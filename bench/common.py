"""Shared by the benchmarks: fresh throw-away databases, DBAPI connections, timing."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from app.db import sqlite_dbapi

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def log(message: str) -> None:
    """Progress goes to stderr so that stdout stays clean for --json."""
    print(message, file=sys.stderr, flush=True)


def pg_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq DSN psycopg understands."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def postgres_problem(admin_url: str) -> str | None:
    """None when PostgreSQL answers at admin_url, else the first line of the error."""
    try:
        with psycopg.connect(pg_dsn(admin_url), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def postgres_settings(admin_url: str, names: tuple[str, ...]) -> dict[str, str]:
    """Server settings (pg_settings) by name, plus server_version."""
    with psycopg.connect(pg_dsn(admin_url)) as conn:
        rows = conn.execute("SELECT name, current_setting(name) FROM pg_settings"
                            " WHERE name = ANY(%s)",
                            (list({*names, "server_version"}),)).fetchall()
    return dict(rows)


@contextmanager
def temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="switchboard_bench_") as tmp:
        yield Path(tmp)


def sqlite_url(directory: Path, label: str) -> str:
    """The URL of a new (not yet existing) SQLite file in directory."""
    return f"sqlite:///{directory / f'{label}-{uuid.uuid4().hex[:8]}.db'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new empty PostgreSQL database (switchboard_bench_<random>), dropped on exit."""
    name = f"switchboard_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(pg_dsn(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dbapi_connect(url: str) -> Any:
    """A plain DBAPI connection (sqlite3 or psycopg) to a SQLAlchemy URL, no SQLAlchemy."""
    if url.startswith("sqlite"):
        # The driver the app uses (app/db.py), so both sides run the same SQLite.
        return sqlite_dbapi().connect(sqlite_path(url), isolation_level=None)
    return psycopg.connect(pg_dsn(url))


def postgres_cpu() -> dict[int, float]:
    """CPU seconds (user + system) each PostgreSQL process on this machine has used so
    far, by pid, with what its ended children used (so the postmaster carries the
    backends and workers that exited); empty where /proc cannot tell (not Linux, or the
    server is elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile, or is not ours to read
            continue
        name, _, rest = text.partition(" (")[2].rpartition(") ")
        if name == "postgres":
            fields = rest.split()
            found[int(stat.parent.name)] = sum(int(f) for f in fields[11:15]) / tick
    return found


@contextmanager
def postgres_cpu_spent(into: list[float]) -> Iterator[None]:
    """Appends to `into` the CPU seconds PostgreSQL's processes spent inside the block
    (backends that started inside it count from zero), or nothing where /proc cannot
    tell. Server-wide: run it on a quiet machine."""
    before = postgres_cpu()
    try:
        yield
    finally:
        after = postgres_cpu()
        if before and after:
            into.append(sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()))


def usable_cpus() -> int:
    """The CPUs this process may run on (affinity), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def python_speed(count: int) -> float:
    """Best-of-3 seconds this interpreter takes to add up `count` integers."""
    best = float("inf")
    for _ in range(3):
        start, total = time.perf_counter(), 0
        for number in range(count):
            total += number
        best = min(best, time.perf_counter() - start)
    return best


def postgres_speed(admin_url: str, count: int) -> float | None:
    """Best-of-3 seconds the server takes to count `count` generated rows (CPU only, no
    table), or None when it cannot be reached."""
    if postgres_problem(admin_url):
        return None
    with psycopg.connect(pg_dsn(admin_url)) as conn:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            conn.execute("SELECT count(*) FROM generate_series(1, %s)", (count,))
            best = min(best, time.perf_counter() - start)
    return best


def timed_call(sessions: Callable[[], Any], call: Callable[[Any], Any]) -> float:
    """Seconds of one call on a fresh session, as a request has; rolled back after."""
    with sessions() as session:
        start = time.perf_counter()
        call(session)
        spent = time.perf_counter() - start
        session.rollback()
    return spent


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of fn() and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result
