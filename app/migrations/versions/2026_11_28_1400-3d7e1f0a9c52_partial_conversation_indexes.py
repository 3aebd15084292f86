"""partial conversation indexes

ix_conversation_escalated and ix_conversation_team_status keep entries only for the
conversations they can serve: escalated ones, and ones with a team. The lists read them
with `escalated_at IS NOT NULL` and `team_id = ?`, which both stores match to the
index's condition.

Why: no conversation update is HOT (waiting_since and last_message_at are indexed and
change with every message), so every ingest batch wrote a new entry into both indexes
for each conversation it touched, for rows no list ever reads through them. Measured
with bench/ingest.py's data (100,000 messages, 25,000 conversations): the per-batch
conversation UPDATE went from 4.2-4.3 to 3.7-3.8 ms of server CPU.

Revision ID: 3d7e1f0a9c52
Revises: 9a4f3c2e7b61
Create Date: 2026-11-28 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '3d7e1f0a9c52'
down_revision: str | None = '9a4f3c2e7b61'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = {
    'ix_conversation_escalated': (['escalated_at', 'id'], 'escalated_at IS NOT NULL'),
    'ix_conversation_team_status': (['team_id', 'status'], 'team_id IS NOT NULL'),
}


def upgrade() -> None:
    # Plain index statements (no batch): a batch rebuild of conversation on SQLite would
    # drop the report triggers earlier migrations put on it.
    for name, (columns, where) in PARTIAL.items():
        op.drop_index(name, table_name='conversation')
        op.create_index(name, 'conversation', columns, sqlite_where=sa.text(where),
                        postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, (columns, _) in PARTIAL.items():
        op.drop_index(name, table_name='conversation')
        op.create_index(name, 'conversation', columns)
