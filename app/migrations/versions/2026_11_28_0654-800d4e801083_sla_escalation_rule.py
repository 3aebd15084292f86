"""sla escalation rule

Revision ID: 800d4e801083
Revises: bd390d2f99b7
Create Date: 2026-11-28 06:54:11.584299
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '800d4e801083'
down_revision: str | None = 'bd390d2f99b7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): a batch rebuild of sla_policy on SQLite would drop the
    # report triggers that the "report spans" migration put on it.
    op.add_column('sla_policy', sa.Column('escalate_to_team_id', sa.Integer(), nullable=True))
    op.add_column('sla_policy', sa.Column('escalate_to_agent_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('sla_policy', 'escalate_to_agent_id')
    op.drop_column('sla_policy', 'escalate_to_team_id')
