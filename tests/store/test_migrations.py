"""The migration chain builds exactly the models' schema, and runs both ways."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session

from app import migrate
from app.db import make_engine
from app.inbox.search import include_name
from app.models import metadata
from app.reports import service as reports
from app.reports.filters import Filters
from tests import factories as f
from tests.reports.timeline import Timeline, t


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_downgrade_upgrade(kind: str, fresh_db_url) -> None:  # type: ignore[no-untyped-def]
    url = fresh_db_url(kind)
    engine = make_engine(url)
    migrate.upgrade(url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {"conversation", "message", "outbox", "cursor"} <= set(inspect(engine).get_table_names())

    migrate.downgrade(url, "base")
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    engine.dispose()


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_ensure_migrated_names_the_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(migrate.NotMigrated, match="switchboard migrate"):
        migrate.ensure_migrated(engine)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_undone_spans_migration_queues_reopened_conversations(  # type: ignore[no-untyped-def]
        kind: str, fresh_db_url) -> None:
    url = fresh_db_url(kind)
    migrate.upgrade(url, "3d7e1f0a9c52")
    engine = make_engine(url)
    with Session(engine) as session:
        acc, alex = f.account(session, platform="x"), f.agent(session, name="Alex")
        tl = Timeline(session, acc)
        tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 15), alex)
        tl.reopen(t(2, 10), alex).resolve(t(2, 12), alex)
        untouched = Timeline(session, acc)
        untouched.customer(t(0, 9)).resolve(t(0, 11), alex)
        # The spans as the code before the migration left them: no "undone" rows.
        reports.refresh(session)
        session.execute(text("DELETE FROM report_span WHERE kind = 'undone'"))
        session.commit()
        ids = (tl.id, untouched.id)

    migrate.upgrade(url)
    week = Filters(start=t(0), end=t(4))
    with Session(engine) as session:
        dirty = session.execute(text("SELECT conversation_id FROM report_dirty")).scalars()
        assert list(dirty) == [ids[0]]
        assert [d.open for d in reports.backlog(session, week)] == [0, 0, 0, 0]
        session.commit()

    migrate.downgrade(url, "3d7e1f0a9c52")
    with Session(engine) as session:
        assert session.execute(text("SELECT COUNT(*) FROM report_span WHERE kind = 'undone'")
                               ).scalar() == 0
    engine.dispose()
