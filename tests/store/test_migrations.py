"""The migration chain builds exactly the models' schema, and runs both ways."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app import migrate
from app.db import make_engine
from app.inbox.search import include_name
from app.models import metadata


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
