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
from tests.reports.test_timelines import WIDE, spans
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
