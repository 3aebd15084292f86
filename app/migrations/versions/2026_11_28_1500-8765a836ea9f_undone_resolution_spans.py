"""undone resolution spans

report_span gets rows of a new kind, "undone": the time a cycle stood resolved until
staff reopened it (app/reports/spans.py), which the backlog leaves out. A resolution
span runs from the start of the cycle to its last resolution, so the backlog alone
counted a conversation staff reopened later as open on the days it stood resolved.

No schema change: the rows fit the table as it is. The spans are caches, so this only
queues the conversations that can have such rows (those with a reopening event) for
recomputation; the next report computes their new rows. Downgrade removes the rows, which
the older code would not know to skip everywhere.

Revision ID: 8765a836ea9f
Revises: 3d7e1f0a9c52
Create Date: 2026-11-28 15:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '8765a836ea9f'
down_revision: str | None = '3d7e1f0a9c52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Ingest's reopenings (a customer wrote) are queued too: telling them apart means
    # reading JSON on both stores, for a few extra conversations recomputed once.
    op.execute("""
INSERT INTO report_dirty (conversation_id, changes)
SELECT DISTINCT e.conversation_id, 0 FROM audit_event e
WHERE e.action = 'reopened' AND e.conversation_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM report_dirty d WHERE d.conversation_id = e.conversation_id)
""")


def downgrade() -> None:
    op.execute("DELETE FROM report_span WHERE kind = 'undone'")
