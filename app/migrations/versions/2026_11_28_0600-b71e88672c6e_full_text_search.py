"""full text search

Revision ID: b71e88672c6e
Revises: c4184fa1fb00
Create Date: 2026-11-28 06:00:00.000000

Search over message text and contact names and handles (app/inbox/search.py).

SQLite: FTS5 external-content tables message_fts(text) and contact_fts(name, handle),
rowid = the row's id, kept in sync by triggers on insert, update and delete, and
backfilled with 'rebuild'. The tokenizer keeps diacritics ("für" is not "fur"), as
PostgreSQL's 'simple' configuration does, so both stores find the same rows.

PostgreSQL: GIN indexes on to_tsvector('simple', ...). search.py must use exactly these
expressions, or the planner will not use the indexes.

Also three btree indexes on conversation for the inbox list without a status filter and
for the Mine / Unassigned views (bench/inbox.py: 100-240 ms without them at 250,000
conversations, 2 ms with): LIST_INDEXES.

The full-text objects are not in the models: autogenerate skips them through the
include_name hook in env.py (app.inbox.search.include_name). The LIST_INDEXES are
declared in Conversation.__table_args__ as well.

Careful in later migrations: a batch_alter_table on message or contact recreates the
table on SQLite, and dropping the old table drops these triggers. Such a migration must
create them again afterwards (as _sqlite_triggers does) and 'rebuild' the index.
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'b71e88672c6e'
down_revision: str | None = 'c4184fa1fb00'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZE = "unicode61 remove_diacritics 0"

# (fts table, content table, indexed columns)
FTS = (
    ("message_fts", "message", ("text",)),
    ("contact_fts", "contact", ("name", "handle")),
)

LIST_INDEXES = (
    ("ix_conversation_waiting", ["waiting_since", "id"]),
    ("ix_conversation_last_message", ["last_message_at", "id"]),
    ("ix_conversation_status_assignee_waiting", ["status", "assignee_id", "waiting_since", "id"]),
)

PG_INDEXES = (
    ("ix_message_text_fts", "message", "to_tsvector('simple', text)"),
    ("ix_contact_name_handle_fts", "contact",
     "to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(handle, ''))"),
)


def upgrade() -> None:
    for name, columns in LIST_INDEXES:
        op.create_index(name, "conversation", columns)
    if op.get_bind().dialect.name == "sqlite":
        for fts, content, columns in FTS:
            op.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, "
                f"content='{content}', content_rowid='id', tokenize='{TOKENIZE}')"
            )
            _sqlite_triggers(fts, content, columns)
            op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    else:
        for name, table, expression in PG_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for fts, _content, _columns in FTS:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    else:
        for name, _table, _expression in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, _columns in LIST_INDEXES:
        op.drop_index(name, "conversation")


def _sqlite_triggers(fts: str, content: str, columns: Sequence[str]) -> None:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    add = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"
    # An external-content index forgets a row by being told the values it indexed.
    remove = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    # Ingest upserts contacts on every batch: only a real change costs a re-index.
    changed = " OR ".join(["old.id IS NOT new.id"] + [f"old.{c} IS NOT new.{c}" for c in columns])
    op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {content} BEGIN {add} END")
    op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {content} BEGIN {remove} END")
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF id, {cols} ON {content} "
        f"WHEN {changed} BEGIN {remove} {add} END"
    )
