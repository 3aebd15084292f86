"""Edge cases of the definitions in docs/metrics.md, each computed by hand."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from app.outbox.models import Outbox
from app.outbox.service import retry_reply
from app.reports import service as reports
from app.reports.filters import Filters
from tests.reports.test_timelines import WIDE, spans, undone
from tests.reports.timeline import Timeline, policy, t


def test_reply_at_the_same_second_answers_in_zero(session: Session, acc: Account,
                                                  alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10), alex)
    assert spans(session, tl)[0][4:7] == (0, 0, alex.id)


def test_customer_message_at_the_resolution_instant_ends_the_old_cycle(
        session: Session, acc: Account, alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 11), alex)
    tl.customer(t(0, 11))  # same instant: ingest does not reopen, neither do the reports
    assert tl.conv.status == "resolved"
    assert spans(session, tl) == [
        ("first_response", 1, t(0, 10), t(0, 10, 10), 600, 600, alex.id, None),
        ("resolution", 1, t(0, 10), t(0, 11), 3600, 3600, alex.id, None),
        # a run closed unanswered by the resolution: no duration in the figures
        ("reply", 1, t(0, 11), None, 0, 0, None, None),
    ]
    figures = reports.response_times(session, WIDE, now=t(1))
    assert (figures.reply.wall.count, figures.reply.waiting.count) == (1, 0)


def test_replies_before_any_customer_message_belong_to_no_cycle(
        session: Session, acc: Account, alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.platform_reply(t(0, 9), "our new printer is out!")
    tl.customer(t(0, 10)).reply(t(0, 10, 30), alex)
    assert spans(session, tl)[0][4] == 1800
    assert reports.volumes(session, Filters(start=t(0), end=t(1)))[0].replies == 2


def test_failed_reply_is_no_answer(session: Session, acc: Account, alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10))
    tl.reply(t(0, 10, 10), alex, state="failed")
    tl.reply(t(0, 10, 25), alex)
    assert spans(session, tl)[0][4] == 1500
    assert reports.volumes(session, Filters(start=t(0), end=t(1)))[0].replies == 1


def test_a_retried_reply_answers_when_it_is_retried(session: Session, acc: Account,
                                                   alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10))
    failed = tl.reply(t(0, 10, 5), alex, state="failed").last
    assert failed is not None
    item = session.scalars(select(Outbox).where(Outbox.message_id == failed.id)).one()
    item.state = "failed"
    retry_reply(session, message=failed, agent=alex, now=t(0, 14))
    failed.delivery_state = "sent"  # the worker delivers it
    session.add_all([item, failed])
    session.flush()
    assert spans(session, tl)[0][4] == 4 * 3600  # 10:00 to 14:00, not to 10:05


def test_failure_after_the_fact_is_seen(session: Session, acc: Account, alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10))
    first = tl.reply(t(0, 10, 10), alex).last
    assert first is not None and spans(session, tl)[0][4] == 600
    first.delivery_state = "failed"  # the worker gives up on it
    session.add(first)
    session.flush()
    assert spans(session, tl)[0][3:5] == (None, None)


def test_staff_reopening_continues_the_cycle(session: Session, acc: Account, alex: Agent,
                                             sam: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 11), alex)
    tl.reopen(t(0, 11, 30), sam)
    tl.customer(t(0, 12)).reply(t(0, 12, 20), sam).resolve(t(0, 13), sam)
    assert spans(session, tl) == [
        ("first_response", 1, t(0, 10), t(0, 10, 10), 600, 600, alex.id, None),
        ("resolution", 1, t(0, 10), t(0, 13), 10800, 10800, sam.id, None),
        ("reply", 1, t(0, 12), t(0, 12, 20), 1200, 1200, sam.id, None),
    ]


def test_staff_reopening_without_a_new_resolution_leaves_the_cycle_open(
        session: Session, acc: Account, alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 11), alex)
    tl.reopen(t(0, 11, 30), alex)
    assert spans(session, tl)[1] == ("resolution", 1, t(0, 10), None, None, None, None, None)
    assert reports.response_times(session, WIDE, now=t(0, 12)).resolution.waiting.count == 1
    assert undone(session, tl) == [(1, t(0, 11), t(0, 11, 30), 1800, alex.id)]


def backlog(session: Session, start: int = 0, end: int = 4) -> list[tuple[int, int]]:
    """(day, open at its end) for the UTC days start .. end - 1 (0 = Monday)."""
    days = reports.backlog(session, Filters(start=t(start), end=t(end)))
    return [((d.day - t(0).date()).days, d.open) for d in days]


def test_backlog_leaves_out_the_days_a_reopened_conversation_stood_resolved(
        session: Session, acc: Account, alex: Agent, sam: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 15), alex)
    tl.reopen(t(2, 10), sam).resolve(t(2, 12), sam)
    # Resolved at the end of Monday and Tuesday, again before the end of Wednesday.
    assert backlog(session) == [(0, 0), (1, 0), (2, 0), (3, 0)]
    # Ranges starting while it stood resolved, and on the day it was reopened.
    assert backlog(session, 1) == [(1, 0), (2, 0), (3, 0)]
    assert backlog(session, 2) == [(2, 0), (3, 0)]
    assert undone(session, tl) == [(1, t(0, 15), t(2, 10), 43 * 3600, sam.id)]
    # The other figures are as before: one cycle, resolved at its last resolution.
    assert spans(session, tl)[1] == ("resolution", 1, t(0, 10), t(2, 12), 50 * 3600,
                                     50 * 3600, sam.id, None)
    figures = reports.response_times(session, WIDE, now=t(4))
    assert (figures.resolution.wall.count, figures.resolution.wall.median) == (1, 50 * 3600)
    assert (figures.reply.wall.count, figures.first_response.wall.count) == (1, 1)
    assert [(d.new_conversations, d.reopened) for d in reports.volumes(
        session, Filters(start=t(0), end=t(4)))] == [(1, 0), (0, 0), (0, 0), (0, 0)]
    assert {a.agent_id: a.resolved for a in reports.agent_table(session, WIDE)} == {
        alex.id: 0, sam.id: 1}


def test_backlog_counts_a_reopened_conversation_again_until_resolved(
        session: Session, acc: Account, alex: Agent, sam: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 15), alex)
    tl.reopen(t(2, 10), sam).resolve(t(3, 12), sam)
    other = Timeline(session, acc)  # open throughout, for company
    other.customer(t(1, 9))
    assert backlog(session) == [(0, 0), (1, 1), (2, 2), (3, 1)]
    assert backlog(session, 1, 3) == [(1, 1), (2, 2)]


def test_backlog_after_a_staff_reopening_without_a_new_resolution(
        session: Session, acc: Account, alex: Agent, sam: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 15), alex)
    tl.reopen(t(1, 10), sam).snooze(t(1, 11), t(5), sam)
    # Resolved at the end of Monday; open (snoozed) from the reopening on.
    assert backlog(session) == [(0, 0), (1, 1), (2, 1), (3, 1)]
    assert backlog(session, 1) == [(1, 1), (2, 1), (3, 1)]
    assert undone(session, tl) == [(1, t(0, 15), t(1, 10), 19 * 3600, sam.id)]
    assert reports.response_times(session, WIDE, now=t(4)).resolution.waiting.count == 1


def test_reopening_a_snoozed_conversation_undoes_no_resolution(
        session: Session, acc: Account, alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).snooze(t(0, 11), t(3), alex)
    tl.reopen(t(1, 10), alex)  # woken by hand: it was never resolved
    assert undone(session, tl) == []
    assert backlog(session) == [(0, 1), (1, 1), (2, 1), (3, 1)]


def test_backlog_with_a_repeated_resolution_and_a_reopening_at_midnight(
        session: Session, acc: Account, alex: Agent, sam: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex).resolve(t(0, 15), alex)
    tl.resolve(t(1, 9), sam)  # resolved again: it stood resolved since Monday 15:00
    tl.reopen(t(2), sam)  # Wednesday 00:00: still resolved at the end of Tuesday
    assert undone(session, tl) == [(1, t(0, 15), t(2), 33 * 3600, sam.id)]
    assert backlog(session) == [(0, 0), (1, 0), (2, 1), (3, 1)]
    assert backlog(session, 2) == [(2, 1), (3, 1)]


def test_resolved_without_an_event_uses_resolved_at(session: Session, acc: Account,
                                                    alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 5), alex)
    tl.set(status="resolved", resolved_at=t(0, 10, 30))
    assert spans(session, tl)[1] == ("resolution", 1, t(0, 10), t(0, 10, 30), 1800, 1800,
                                     None, None)


def test_closed_unanswered_meets_or_breaches_by_its_resolution(
        session: Session, acc: Account, alex: Agent) -> None:
    policy(session, "hour", is_default=True, first_response_seconds=3600)
    quick = Timeline(session, acc)
    quick.customer(t(0, 10)).resolve(t(0, 10, 30), alex)
    slow = Timeline(session, acc)
    slow.customer(t(0, 10)).resolve(t(0, 12), alex)
    assert spans(session, quick)[0] == ("first_response", 1, t(0, 10), None, 1800, 1800, None,
                                        True)
    assert spans(session, slow)[0][7] is False
    sla = reports.sla_summary(session, WIDE, now=t(1))
    assert (sla.first_response.met, sla.first_response.breached) == (1, 1)
    figures = reports.response_times(session, WIDE, now=t(1))
    assert (figures.first_response.wall.count, figures.resolution.wall.count) == (0, 2)


def test_reply_while_resolved_answers_nothing(session: Session, acc: Account,
                                              alex: Agent) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).resolve(t(0, 10, 30), alex)
    tl.reply(t(0, 10, 40), alex, "closing this, write again any time")
    tl.customer(t(1, 9)).reply(t(1, 9, 10), alex)
    assert [(s[0], s[1], s[4]) for s in spans(session, tl)] == [
        ("first_response", 1, 1800), ("resolution", 1, 1800),
        ("first_response", 2, 600), ("resolution", 2, None)]
    assert spans(session, tl)[0][3] is None  # cycle 1 closed unanswered


def test_open_cycle_is_waiting_not_in_the_figures(session: Session, acc: Account) -> None:
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).customer(t(0, 10, 20))
    figures = reports.response_times(session, WIDE, now=t(0, 10, 45))
    assert figures.first_response.wall.count == 0
    waiting = figures.first_response.waiting
    assert (waiting.count, waiting.longest, waiting.mean) == (1, 2700, 2700)
    assert figures.resolution.waiting.longest == 2700


def test_next_replies_have_their_own_target(session: Session, acc: Account,
                                            alex: Agent) -> None:
    policy(session, "std", is_default=True, first_response_seconds=900,
           next_reply_seconds=1800)
    tl = Timeline(session, acc)
    tl.customer(t(0, 10)).reply(t(0, 10, 10), alex)
    tl.customer(t(0, 10, 20)).customer(t(0, 10, 25)).reply(t(0, 11), alex)
    assert [(s[0], s[4], s[7]) for s in spans(session, tl)] == [
        ("first_response", 600, True), ("resolution", None, None), ("reply", 2400, False)]
    figures = reports.response_times(session, WIDE, now=t(1))
    assert (figures.reply.wall.count, figures.reply.wall.median) == (2, 1500)
    assert (figures.first_response.wall.count, figures.first_response.wall.mean) == (1, 600)
    sla = reports.sla_summary(session, WIDE, now=t(1))
    assert (sla.first_response.met, sla.next_reply.breached) == (1, 1)
    assert sla.next_reply.met_share == 0
