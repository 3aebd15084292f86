"""SLA policies, the inbox badge and the at-risk check, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent
from app.reports import service as reports
from tests import factories as f
from tests.reports.test_timelines import berlin, office_policy
from tests.reports.timeline import Timeline, policy, t


def span_policy(session: Session, tl: Timeline) -> int | None:
    reports.refresh(session)
    return session.execute(text("SELECT policy_id FROM report_span WHERE conversation_id = :c "
                                "AND kind = 'resolution'"), {"c": tl.id}).scalar()


def test_most_specific_policy_wins(session: Session, acc: Account) -> None:
    fb = f.account(session, platform="facebook", external_id="page")
    other = f.account(session, platform="x", external_id="99")
    default = policy(session, "default", is_default=True, first_response_seconds=3600)
    urgent = policy(session, "urgent", priority="urgent", first_response_seconds=900)
    facebook = policy(session, "facebook", platform="facebook", first_response_seconds=1800)
    mine = policy(session, "acme", account_id=acc.id, first_response_seconds=600)
    fb_urgent = policy(session, "facebook urgent", platform="facebook", priority="urgent",
                       first_response_seconds=300)
    cases = [(acc, "normal", mine), (acc, "urgent", mine), (fb, "normal", facebook),
             (fb, "urgent", fb_urgent), (other, "normal", default), (other, "urgent", urgent)]
    for account, priority, expected in cases:
        tl = Timeline(session, account).customer(t(0, 10)).set(priority=priority)
        assert reports.policy_for(session, tl.conv) == expected
        assert span_policy(session, tl) == expected.id


def test_no_policy_no_clock(session: Session, acc: Account) -> None:
    tl = Timeline(session, acc).customer(t(0, 10))
    sla = reports.sla_status(session, [tl.id], now=t(0, 11))[tl.id]
    assert (sla.reply, sla.resolution, sla.state) == (None, None, None)
    assert reports.policy_for(session, tl.conv) is None


def test_badge_states(session: Session, acc: Account, alex: Agent) -> None:
    policy(session, "std", is_default=True, first_response_seconds=3600,
           next_reply_seconds=1800, resolution_seconds=4 * 3600, at_risk_share=0.25)
    tl = Timeline(session, acc).customer(t(0, 10))

    def badge(at: object) -> tuple[object, ...]:
        sla = reports.sla_status(session, [tl.id], now=at)[tl.id]  # type: ignore[arg-type]
        assert sla.reply is not None and sla.resolution is not None
        return (sla.reply.target, sla.reply.left, sla.reply.state, sla.resolution.left,
                sla.state)

    assert badge(t(0, 10, 30)) == ("first_response", 1800, "ok", 12600, "ok")
    assert badge(t(0, 10, 50)) == ("first_response", 600, "at_risk", 11400, "at_risk")
    assert badge(t(0, 11, 1)) == ("first_response", -60, "breached", 10740, "breached")
    tl.reply(t(0, 10, 40), alex).customer(t(0, 12))
    assert badge(t(0, 12, 25)) == ("next_reply", 300, "at_risk", 5700, "at_risk")
    clock = reports.sla_status(session, [tl.id], now=t(0, 12, 25))[tl.id].reply
    assert clock is not None and (clock.due_at, clock.started_at) == (t(0, 12, 30), t(0, 12))
    tl.resolve(t(0, 13), alex)
    assert reports.sla_status(session, [tl.id], now=t(0, 14))[tl.id].state is None


def test_newly_at_risk_around_the_clock(session: Session, acc: Account) -> None:
    policy(session, "std", is_default=True, first_response_seconds=3600, at_risk_share=0.25)
    early = Timeline(session, acc).customer(t(0, 9))  # at risk since 09:45
    late = Timeline(session, acc).customer(t(0, 10))  # at risk from 10:45 on

    def crossed(since: object, now: object) -> list[tuple[int, str, str]]:
        return [(c.conversation_id, c.target, c.state)
                for c in reports.newly_at_risk(session, since=since, now=now)]  # type: ignore[arg-type]

    assert crossed(t(0, 10, 44), t(0, 10, 46)) == [(late.id, "first_response", "at_risk")]
    assert crossed(t(0, 10, 40), t(0, 10, 44)) == []
    assert crossed(t(0, 10, 46), t(0, 10, 50)) == []
    assert crossed(t(0, 9, 30), t(0, 11, 30)) == [(early.id, "first_response", "breached"),
                                                   (late.id, "first_response", "breached")]


def test_newly_at_risk_in_business_time(session: Session, acc: Account) -> None:
    office_policy(session)  # 30 minutes, at risk with less than 7.5 minutes left
    tl = Timeline(session, acc).customer(berlin(2026, 11, 6, 16, 45))  # Friday

    def crossed(since: object, now: object) -> list[str]:
        return [c.state for c in reports.newly_at_risk(session, since=since,  # type: ignore[arg-type]
                                                       now=now)]  # type: ignore[arg-type]

    # 15 minutes on Friday, 7.5 on Monday: at risk from Monday 09:07:30
    assert crossed(berlin(2026, 11, 6, 17, 30), berlin(2026, 11, 9, 9)) == []
    assert crossed(berlin(2026, 11, 9, 9, 7), berlin(2026, 11, 9, 9, 8)) == ["at_risk"]
    assert crossed(berlin(2026, 11, 9, 9, 8), berlin(2026, 11, 9, 9, 20)) == []
    assert crossed(berlin(2026, 11, 6, 16, 50), berlin(2026, 11, 9, 10)) == ["breached"]
    assert tl.id


def test_changes_are_seen_by_the_next_report(session: Session, acc: Account, alex: Agent,
                                             sam: Agent) -> None:
    default = policy(session, "std", is_default=True, first_response_seconds=3600)
    policy(session, "urgent", priority="urgent", first_response_seconds=900)
    tl = Timeline(session, acc).customer(t(0, 10)).reply(t(0, 10, 20), alex)
    sla = reports.sla_summary(session, reports.Filters(start=t(0), end=t(1)), now=t(1))
    assert (sla.first_response.met, sla.first_response.breached) == (1, 0)

    tl.set(priority="urgent")  # a trigger marks the conversation; the report recomputes it
    sla = reports.sla_summary(session, reports.Filters(start=t(0), end=t(1)), now=t(1))
    assert (sla.first_response.met, sla.first_response.breached) == (0, 1)

    tl.set(priority="normal")
    default.first_response_seconds = 600  # editing a policy marks every conversation
    session.add(default)
    session.flush()
    sla = reports.sla_summary(session, reports.Filters(start=t(0), end=t(1)), now=t(1))
    assert (sla.first_response.met, sla.first_response.breached) == (0, 1)

    tl.set(assignee_id=sam.id)
    rows = session.execute(text("SELECT DISTINCT assignee_id FROM report_span")).all()
    assert reports.refresh(session) == 1 and rows != [(sam.id,)]
    assert session.execute(text("SELECT DISTINCT assignee_id FROM report_span")).all() == [
        (sam.id,)]

    session.delete(tl.conv)
    session.flush()
    reports.refresh(session)
    assert session.execute(text("SELECT COUNT(*) FROM report_span")).scalar() == 0
    assert session.execute(text("SELECT COUNT(*) FROM report_message")).scalar() == 0


def test_badge_recomputes_only_its_page(session: Session, acc: Account) -> None:
    policy(session, "std", is_default=True, first_response_seconds=3600)
    shown = Timeline(session, acc).customer(t(0, 10))
    other = Timeline(session, acc).customer(t(0, 10))
    reports.sla_status(session, [shown.id], now=t(0, 11))
    dirty = session.execute(text("SELECT conversation_id FROM report_dirty")).scalars().all()
    assert dirty == [other.id]


def test_rebuild_gives_the_same_spans(session: Session, acc: Account, alex: Agent) -> None:
    Timeline(session, acc).customer(t(0, 10)).reply(t(0, 10, 5), alex).resolve(t(0, 11))
    reports.refresh(session)
    before = session.execute(text("SELECT * FROM report_span ORDER BY start_us, kind")).all()
    assert reports.rebuild(session) == 1
    assert session.execute(text("SELECT * FROM report_span ORDER BY start_us, kind")).all() == (
        before)


def test_a_wait_that_starts_after_now_shows_a_full_clock(session: Session, acc: Account) -> None:
    # A platform clock 30 s ahead of ours, just before midnight, in business time.
    office_policy(session)
    early = Timeline(session, acc, thread="a").customer(t(0, 15))
    ahead = Timeline(session, acc, thread="b").customer(t(1, 0, 0, 20), ingested=timedelta(0))
    now = t(0, 23, 59, 55)
    badges = reports.sla_status(session, [early.id, ahead.id], now=now)
    assert badges[early.id].reply is not None and badges[early.id].reply.state == "breached"
    clock = badges[ahead.id].reply
    assert clock is not None and (clock.state, clock.left) == ("ok", 1800)
