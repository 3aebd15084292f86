"""Every store test runs on SQLite and on PostgreSQL, on databases built by the migrations.

Each run gets its own PostgreSQL database (dropped at the end) so runs never collide.
Without a reachable PostgreSQL the PostgreSQL half is skipped and the summary says so;
in CI (CI=true) that is an error instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app import migrate
from app.db import make_engine, session_factory

PG_ADMIN = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_pg_problem: list[str] = []


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(_dsn(PG_ADMIN), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_admin() -> str:
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable in CI at {PG_ADMIN}: {problem}")
        if not _pg_problem:
            _pg_problem.append(problem)
        pytest.skip(f"PostgreSQL unreachable ({problem})")
    return PG_ADMIN


def create_pg_database(admin_url: str) -> str:
    """A new empty database; returns its SQLAlchemy URL."""
    name = f"switchboard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_dsn(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    admin, name = PG_ADMIN, url.rsplit("/", 1)[1]
    with psycopg.connect(_dsn(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def fresh_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A factory of empty databases of the kind named, removed at the end of the run."""
    made: list[str] = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            path = tmp_path_factory.mktemp("db") / f"{uuid.uuid4().hex[:8]}.db"
            return f"sqlite:///{path}"
        url = create_pg_database(request.getfixturevalue("pg_admin"))
        made.append(url)
        return url

    yield make
    for url in made:
        drop_pg_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, fresh_db_url) -> str:  # type: ignore[no-untyped-def]
    """A migrated database of each kind, shared by the run's tests (each rolls back)."""
    url = fresh_db_url(request.param)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    Code under test may commit: with create_savepoint its commits release savepoints.
    """
    with engine.connect() as conn:
        trans = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint",
                     expire_on_commit=False) as s:
            yield s
        trans.rollback()


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, fresh_db_url) -> Iterator[sessionmaker[Session]]:  # type: ignore[no-untyped-def]
    """Sessions on a database of their own that really commit: for tests where several
    sessions or threads must see each other's writes."""
    url = fresh_db_url(request.param)
    migrate.upgrade(url)
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def db_kind(engine: Engine) -> str:
    return engine.dialect.name


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if _pg_problem:
        terminalreporter.write_line(
            f"NOTE: the PostgreSQL half was SKIPPED: cannot reach {PG_ADMIN} "
            f"({_pg_problem[0]}). Only SQLite was tested.",
            yellow=True, bold=True,
        )


FIXTURES = Path(__file__).parent / "fixtures"
