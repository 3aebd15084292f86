"""Alembic environment: one metadata, batch mode for SQLite's limited ALTER."""

from alembic import context
from sqlalchemy import pool

from app.db import make_engine
from app.inbox.search import include_name
from app.models import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,  # the search tables and indexes are not in the models
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
