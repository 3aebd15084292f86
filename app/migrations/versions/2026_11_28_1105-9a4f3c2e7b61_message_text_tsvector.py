"""message text tsvector

PostgreSQL only: the words of message.text are stored once, in a generated column
text_tsv, and the GIN index is built on that column instead of on the expression.

Why: a search for a word that many conversations hold walks the inbox list and tests
each conversation's messages (app/inbox/search.py); with an expression index every test
parsed the message text again. bench/inbox.py, "Drucker" (about 16,000 matching
messages): 42 ms for the walk before, 16 ms after. Ingest parses each text once either
way (for the column now, for the index before); measured, no change beyond the noise.

SQLite keeps its FTS5 table. The column is not in the models (it exists on one store):
autogenerate skips it through app.inbox.search.include_name.

Revision ID: 9a4f3c2e7b61
Revises: 5c1e7a9d2b40
Create Date: 2026-11-28 11:05:00.000000
"""
from collections.abc import Sequence

from alembic import op


revision: str = '9a4f3c2e7b61'
down_revision: str | None = '5c1e7a9d2b40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE message ADD COLUMN text_tsv tsvector GENERATED ALWAYS AS "
               "(to_tsvector('simple'::regconfig, text)) STORED")
    op.execute("DROP INDEX ix_message_text_fts")
    op.execute("CREATE INDEX ix_message_text_fts ON message USING gin (text_tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_message_text_fts")
    op.execute("ALTER TABLE message DROP COLUMN text_tsv")
    op.execute("CREATE INDEX ix_message_text_fts ON message USING gin "
               "(to_tsvector('simple', text))")
