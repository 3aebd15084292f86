"""report spans

Revision ID: bd390d2f99b7
Revises: b71e88672c6e
Create Date: 2026-11-28 06:08:00.000000

Reports (app/reports, docs/metrics.md):
- message.canned_response_id / canned_unchanged: filled by the composer; the share of
  replies sent as an unchanged canned response is a per-agent figure.
- report_span: the waits the reports read (replies, first responses, resolutions), and
  report_message: customer messages and human replies in time order; both derived in
  SQL per conversation (app/reports/spans.py), caches that can be rebuilt at any time.
  On SQLite both are WITHOUT ROWID tables stored in primary key (time) order.
- report_dirty + triggers: every change a span depends on (a message, a delivery
  failure, a resolution or reopening, the conversation's status, priority, team,
  assignee, account or platform, any SLA policy) puts the conversation on this list,
  and the reports recompute it before they read. Every existing conversation starts
  on the list, so the first report after this upgrade computes them all.

No batch_alter_table on message: on SQLite that would rebuild the table and drop the
full-text-search triggers (see b71e88672c6e). Plain ADD/DROP COLUMN keep them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'bd390d2f99b7'
down_revision: str | None = 'b71e88672c6e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SPAN = "end_us IS NULL AND closed_us IS NULL"

# What changes a conversation's spans: (table, watched columns, id column).
MESSAGE_COLUMNS = ("conversation_id", "created_at", "direction", "is_automated",
                   "author_agent_id", "canned_unchanged")
CONVERSATION_COLUMNS = ("status", "resolved_at", "priority", "team_id", "assignee_id",
                        "account_id", "platform")
EVENT_ACTIONS = "('resolved', 'reopened')"
# Only the step into or out of 'failed' matters (a failed reply is no answer).
FAILED = "COALESCE({}.delivery_state, '') = 'failed'"

SQLITE_TRIGGERS = ("report_dirty_message_insert", "report_dirty_message_delete",
                   "report_dirty_message_update", "report_dirty_event_insert",
                   "report_dirty_event_delete", "report_dirty_conversation_update",
                   "report_dirty_policy_insert", "report_dirty_policy_update",
                   "report_dirty_policy_delete")
PG_TRIGGERS = (("report_dirty_message_insert", "message"),
               ("report_dirty_message_delete", "message"),
               ("report_dirty_message_update", "message"),
               ("report_dirty_event_insert", "audit_event"),
               ("report_dirty_event_delete", "audit_event"),
               ("report_dirty_conversation_update", "conversation"),
               ("report_dirty_policy", "sla_policy"))
PG_FUNCTIONS = ("report_dirty_new_messages", "report_dirty_old_messages",
                "report_dirty_new_events", "report_dirty_old_events", "report_dirty_message",
                "report_dirty_conversation", "report_dirty_all")


def upgrade() -> None:
    op.add_column('message', sa.Column('canned_response_id', sa.Integer(), nullable=True))
    op.add_column('message', sa.Column('canned_unchanged', sa.Boolean(), nullable=True))
    op.create_table(
        'report_span',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('start_us', sa.BigInteger(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('cycle_no', sa.Integer(), nullable=False),
        sa.Column('run_no', sa.Integer(), nullable=False),
        sa.Column('is_first', sa.Boolean(), nullable=False),
        sa.Column('end_us', sa.BigInteger(), nullable=True),
        sa.Column('closed_us', sa.BigInteger(), nullable=True),
        sa.Column('wall_us', sa.BigInteger(), nullable=True),
        sa.Column('biz_us', sa.BigInteger(), nullable=True),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('policy_id', sa.Integer(), nullable=True),
        sa.Column('target_us', sa.BigInteger(), nullable=True),
        sa.Column('met', sa.Boolean(), nullable=True),
        *_conversation_copies(),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name=op.f('fk_report_span_conversation_id_conversation'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('kind', 'start_us', 'conversation_id', 'cycle_no', 'run_no',
                                name=op.f('pk_report_span')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_report_span_kind_end', 'report_span', ['kind', 'end_us'])
    op.create_index('ix_report_span_conversation', 'report_span', ['conversation_id'])
    op.create_index('ix_report_span_open', 'report_span', ['start_us'],
                    sqlite_where=sa.text(OPEN_SPAN), postgresql_where=sa.text(OPEN_SPAN))
    op.create_index('ix_report_span_open_conversation', 'report_span', ['conversation_id'],
                    sqlite_where=sa.text(OPEN_SPAN), postgresql_where=sa.text(OPEN_SPAN))
    op.create_table(
        'report_message',
        sa.Column('at_us', sa.BigInteger(), nullable=False),
        sa.Column('message_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('is_reply', sa.Boolean(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('canned_unchanged', sa.Boolean(), nullable=True),
        *_conversation_copies(),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name=op.f('fk_report_message_conversation_id_conversation'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('at_us', 'message_id', name=op.f('pk_report_message')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_report_message_conversation', 'report_message', ['conversation_id'])
    op.create_table(
        'report_dirty',
        sa.Column('conversation_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('changes', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_report_dirty')),
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers()
    op.execute("INSERT INTO report_dirty (conversation_id, changes) SELECT id, 0 FROM conversation")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name, table in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table('report_dirty')
    op.drop_index('ix_report_message_conversation', table_name='report_message')
    op.drop_table('report_message')
    op.drop_index('ix_report_span_open_conversation', table_name='report_span')
    op.drop_index('ix_report_span_open', table_name='report_span')
    op.drop_index('ix_report_span_conversation', table_name='report_span')
    op.drop_index('ix_report_span_kind_end', table_name='report_span')
    op.drop_table('report_span')
    op.drop_column('message', 'canned_unchanged')
    op.drop_column('message', 'canned_response_id')


def _conversation_copies() -> list[sa.Column]:
    return [sa.Column('platform', sa.String(length=16), nullable=False),
            sa.Column('account_id', sa.Integer(), nullable=False),
            sa.Column('priority', sa.String(length=16), nullable=False),
            sa.Column('team_id', sa.Integer(), nullable=True),
            sa.Column('assignee_id', sa.Integer(), nullable=True)]


def _changed(columns: Sequence[str], sqlite: bool) -> str:
    op_ = "IS NOT" if sqlite else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in columns)


def _sqlite_triggers() -> None:
    def mark(expr: str) -> str:
        # SQLite has one writer at a time: nothing to lock, DO NOTHING is enough.
        return (f"INSERT INTO report_dirty (conversation_id, changes) VALUES ({expr}, 0) "
                "ON CONFLICT (conversation_id) DO NOTHING;")

    everything = ("INSERT INTO report_dirty (conversation_id, changes) "
                  "SELECT id, 0 FROM conversation WHERE true "
                  "ON CONFLICT (conversation_id) DO NOTHING;")
    failed_changed = f"({FAILED.format('OLD')}) IS NOT ({FAILED.format('NEW')})"
    statements = {
        "report_dirty_message_insert":
            f"AFTER INSERT ON message BEGIN {mark('NEW.conversation_id')} END",
        "report_dirty_message_delete":
            f"AFTER DELETE ON message BEGIN {mark('OLD.conversation_id')} END",
        "report_dirty_message_update":
            f"AFTER UPDATE OF {', '.join(MESSAGE_COLUMNS)}, delivery_state ON message "
            f"WHEN {_changed(MESSAGE_COLUMNS, True)} OR {failed_changed} "
            f"BEGIN {mark('NEW.conversation_id')} {mark('OLD.conversation_id')} END",
        "report_dirty_event_insert":
            f"AFTER INSERT ON audit_event WHEN NEW.action IN {EVENT_ACTIONS} "
            f"AND NEW.conversation_id IS NOT NULL BEGIN {mark('NEW.conversation_id')} END",
        "report_dirty_event_delete":
            f"AFTER DELETE ON audit_event WHEN OLD.action IN {EVENT_ACTIONS} "
            f"AND OLD.conversation_id IS NOT NULL BEGIN {mark('OLD.conversation_id')} END",
        "report_dirty_conversation_update":
            f"AFTER UPDATE OF {', '.join(CONVERSATION_COLUMNS)} ON conversation "
            f"WHEN {_changed(CONVERSATION_COLUMNS, True)} BEGIN {mark('NEW.id')} END",
        "report_dirty_policy_insert": f"AFTER INSERT ON sla_policy BEGIN {everything} END",
        "report_dirty_policy_update": f"AFTER UPDATE ON sla_policy BEGIN {everything} END",
        "report_dirty_policy_delete": f"AFTER DELETE ON sla_policy BEGIN {everything} END",
    }
    for name, body in statements.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def _postgres_triggers() -> None:
    # DO UPDATE (not DO NOTHING) takes the row's lock, so a refresh that claims the row
    # either waits for this writer to commit or skips it (FOR UPDATE SKIP LOCKED) and
    # leaves it for next time: a change is never lost between claim and recompute.
    # Rows are marked in id order, so that two writers never lock in opposite orders.
    upsert = ("ON CONFLICT (conversation_id) DO UPDATE "
              "SET changes = report_dirty.changes + 1;")

    def function(name: str, select: str) -> None:
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"INSERT INTO report_dirty (conversation_id, changes) {select} {upsert} "
                   "RETURN NULL; END $$")

    def rows(source: str, where: str = "") -> str:
        return (f"SELECT DISTINCT conversation_id, 0 FROM {source} "
                f"WHERE conversation_id IS NOT NULL {where} ORDER BY 1")

    events = f"AND action IN {EVENT_ACTIONS}"
    function("report_dirty_new_messages", rows("new_rows"))
    function("report_dirty_old_messages", rows("old_rows"))
    function("report_dirty_new_events", rows("new_rows", events))
    function("report_dirty_old_events", rows("old_rows", events))
    function("report_dirty_message", "SELECT DISTINCT x, 0 FROM (VALUES "
             "(NEW.conversation_id), (OLD.conversation_id)) v(x) ORDER BY 1")
    function("report_dirty_conversation", "VALUES (NEW.id, 0)")
    function("report_dirty_all", "SELECT id, 0 FROM conversation ORDER BY id")
    failed_changed = f"({FAILED.format('OLD')}) IS DISTINCT FROM ({FAILED.format('NEW')})"
    for statement in (
        "report_dirty_message_insert AFTER INSERT ON message REFERENCING NEW TABLE AS "
        "new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_dirty_new_messages()",
        "report_dirty_message_delete AFTER DELETE ON message REFERENCING OLD TABLE AS "
        "old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_dirty_old_messages()",
        f"report_dirty_message_update AFTER UPDATE ON message FOR EACH ROW WHEN "
        f"({_changed(MESSAGE_COLUMNS, False)} OR {failed_changed}) "
        "EXECUTE FUNCTION report_dirty_message()",
        "report_dirty_event_insert AFTER INSERT ON audit_event REFERENCING NEW TABLE AS "
        "new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_dirty_new_events()",
        "report_dirty_event_delete AFTER DELETE ON audit_event REFERENCING OLD TABLE AS "
        "old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_dirty_old_events()",
        f"report_dirty_conversation_update AFTER UPDATE ON conversation FOR EACH ROW WHEN "
        f"({_changed(CONVERSATION_COLUMNS, False)}) "
        "EXECUTE FUNCTION report_dirty_conversation()",
        "report_dirty_policy AFTER INSERT OR UPDATE OR DELETE ON sla_policy "
        "FOR EACH STATEMENT EXECUTE FUNCTION report_dirty_all()",
    ):
        op.execute(f"CREATE TRIGGER {statement}")
