"""The team and escalated indexes are partial (only rows with a team, only escalated
rows), and the lists that filter on them still read through them, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, or_, select, text
from sqlmodel import Session

from app.auth.models import Team
from app.inbox.actions import assign, escalate
from app.inbox.models import Conversation
from app.inbox.service import ConversationFilter, Sort, _where_once, list_conversations
from app.ingest.service import ingest_batch
from tests import factories as f

PARTIAL = {"ix_conversation_team_status": "team_id IS NOT NULL",
           "ix_conversation_escalated": "escalated_at IS NOT NULL"}


@contextmanager
def statements(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """The SQL and parameters the session's connection runs inside the block."""
    seen: list[tuple[str, Any]] = []
    conn = session.connection()

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", record)


def plan(session: Session, statement: str, parameters: Any) -> str:
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        return "\n".join(str(row[-1]) for row in rows)
    # A few rows and no statistics: a sequential scan would always win here.
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    try:
        return "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    finally:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = on")


def test_indexes_hold_only_the_rows_their_lists_read(session: Session) -> None:
    conn = session.connection()
    for name, condition in PARTIAL.items():
        if conn.dialect.name == "sqlite":
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                               {"n": name}).scalar_one()
        else:
            sql = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                               {"n": name}).scalar_one()
        assert condition.lower() in sql.lower().replace("(", "").replace(")", ""), sql


def test_team_and_escalated_lists_read_through_the_partial_indexes(session: Session) -> None:
    acc = f.account(session)
    supervisor = f.agent(session, role="supervisor")
    messages = [f.inbound(f"question {i}", minutes=i, thread=f"t{i}", author=str(i))
                for i in range(6)]
    ingest_batch(session, account=acc, stream="mentions", messages=messages, cursor=None)
    team = Team(name="billing")
    session.add(team)
    session.flush()
    assert team.id is not None
    convs = {c.external_thread_id: c for c, _, _ in list_conversations(
        session, filters=ConversationFilter(), limit=50).items}
    assign(session, convs["t1"], by=supervisor, team_id=team.id)
    escalate(session, convs["t4"], by=supervisor, reason="refund above my limit",
             to_agent_id=supervisor.id)
    escalate(session, convs["t2"], by=supervisor, reason="legal question",
             to_team_id=team.id)
    session.flush()

    cases = [(ConversationFilter(team_id=team.id), Sort.WAITING,
              "ix_conversation_team_status", ["t1", "t2"]),  # escalating to a team hands it over
             (ConversationFilter(escalated=True), Sort.ESCALATED,
              "ix_conversation_escalated", ["t4", "t2"])]
    for filters, sort, index, expected in cases:
        with statements(session) as seen:
            page = list_conversations(session, filters=filters, sort=sort, limit=50)
        assert [c.external_thread_id for c, _, _ in page.items] == expected
        listed = [(sql, params) for sql, params in seen if "ORDER BY" in sql]
        assert listed, seen
        # Once: PostgreSQL would count a repeated condition twice and misjudge the rows.
        assert all(sql.count("escalated_at IS NOT NULL") <= 1 for sql, _ in listed), listed
        plans = [plan(session, sql, params) for sql, params in listed]
        assert any(index in p for p in plans), (index, plans)


def test_the_escalated_condition_is_added_unless_the_query_has_it() -> None:
    escalated = Conversation.escalated_at.is_not(None)  # type: ignore[union-attr]
    urgent = Conversation.priority == "urgent"
    base = select(Conversation.id)
    once = _where_once(base.where(escalated, urgent), escalated)
    assert str(once).count("escalated_at IS NOT NULL") == 1
    # Inside an OR it holds only sometimes: it must still be added.
    either = _where_once(base.where(or_(escalated, urgent)), escalated)
    assert str(either).count("escalated_at IS NOT NULL") == 2
    assert "escalated_at IS NOT NULL" in str(_where_once(base, escalated))
