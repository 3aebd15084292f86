"""Polling over real HTTP against the simulator: ingest, idempotence, and each error class."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account, Cursor
from app.accounts.service import add_account
from app.db import utcnow
from app.errors import Invalid
from app.inbox.models import Contact, Conversation, Message
from app.ingest.poller import poll_due
from connectors.base import Connector
from connectors.simulator import app as sim_app
from connectors.simulator.faults import Fault
from connectors.simulator.state import SimState


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def poll(session: Session, connector_for: Callable[[Account], Connector], minutes: float = 0,
         **kw: object):  # type: ignore[no-untyped-def]
    return poll_due(session, connector_for, default_interval=60,
                    now=utcnow() + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def requests_to(sim: SimState, fragment: str) -> int:
    return sum(1 for r in sim.requests if fragment in r["path"])


def test_mentions_and_dms_become_threads_with_contacts(session: Session, sim: SimState,
                                                       connect, connector_for) -> None:  # type: ignore[no-untyped-def]
    acc = connect()
    sim.add_user("7", "jane", "Jane Doe")
    root = sim.add_tweet("7", "@acme my printer shows E-07")
    sim.add_tweet("7", "@acme still broken", in_reply_to=root.id)
    sim.add_dm("7", "42", "here is my order number 5512")

    report = poll(session, connector_for)

    assert report.errors == []
    assert report.new_messages == 3
    convs = session.scalars(select(Conversation).order_by(Conversation.thread_kind)).all()
    assert [(c.thread_kind, c.message_count) for c in convs] == [("x_dm", 1), ("x_mention", 2)]
    assert convs[1].external_thread_id == str(root.id)
    jane = session.scalars(select(Contact).where(Contact.external_id == "7")).one()
    assert (jane.handle, jane.name) == ("jane", "Jane Doe")
    assert {c.contact_id for c in convs} == {jane.id}
    session.refresh(acc)
    assert acc.last_polled_at is not None and acc.last_error is None


def test_many_pages_then_an_idle_cycle_costs_one_call_per_stream(
        session: Session, sim: SimState, connect, connector_for) -> None:  # type: ignore[no-untyped-def]
    connect()
    sim.generate_mentions("42", 250)
    sim.generate_dms("42", 130)

    first = poll(session, connector_for)
    assert first.new_messages == 380
    assert count(session, Message) == 380
    assert requests_to(sim, "/mentions") >= 3  # 100 a page

    again = poll(session, connector_for, minutes=2)
    assert again.new_messages == 0
    assert again.api_calls == 3  # mentions, dms, own tweets: one call each
    assert count(session, Message) == 380


def test_rate_limit_is_waited_out(session: Session, sim: SimState, connect,
                                  connector_for) -> None:  # type: ignore[no-untyped-def]
    connect()
    sim.generate_mentions("42", 3)
    sim.faults.add(Fault(kind="rate_limit", path_prefix="/2/users/42/mentions", reset_in=300))

    first = poll(session, connector_for)
    assert any("rate limited" in e for e in first.errors)
    calls = requests_to(sim, "/mentions")
    cursor = session.scalars(select(Cursor).where(Cursor.stream == "mentions")).one()
    session.refresh(cursor)
    assert cursor.next_poll_at is not None and cursor.next_poll_at > utcnow() + timedelta(
        minutes=4)

    poll(session, connector_for, minutes=2)  # before the reset: no call at all
    poll(session, connector_for, minutes=2, force=True)  # not even when forced
    assert requests_to(sim, "/mentions") == calls

    after = poll(session, connector_for, minutes=6)  # after the reset
    assert requests_to(sim, "/mentions") == calls + 1
    assert after.new_messages == 3


def test_a_dm_backlog_under_the_rate_limit_is_read_one_window_at_a_time(
        session: Session, sim: SimState, connect, connector_for,
        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    connect()
    sim.generate_dms("42", 250)  # three pages of 100
    # X's DM reads are 15 per 15 minutes (platforms.md A8); two keep the test short.
    monkeypatch.setitem(sim_app.LIMITS, "GET /2/dm_events", 2)
    monkeypatch.setattr(sim, "enforce_rate_limits", True)
    ahead = [timedelta(0)]
    real_clock = sim.clock
    monkeypatch.setattr(sim, "clock", lambda: real_clock() + ahead[0])

    first = poll(session, connector_for)
    assert any("dms: rate limited" in e for e in first.errors)
    assert count(session, Message) == 200  # the two pages read before the limit are kept

    calls = requests_to(sim, "/dm_events")
    poll(session, connector_for, minutes=5)  # before the reset: nothing asked
    assert requests_to(sim, "/dm_events") == calls

    ahead[0] = timedelta(minutes=16)
    second = poll(session, connector_for, minutes=16)  # goes on where it stopped
    assert not any("dms" in e for e in second.errors), second.errors
    assert second.new_messages == 50 and count(session, Message) == 250
    assert requests_to(sim, "/dm_events") == calls + 1
    cursor = session.scalars(select(Cursor).where(Cursor.stream == "dms")).one()
    session.refresh(cursor)
    assert cursor.value is not None and not cursor.value.startswith("resume:")
    assert cursor.last_error is None


def test_server_errors_and_timeouts_back_off_then_recover(
        session: Session, sim: SimState, connect, connector_for) -> None:  # type: ignore[no-untyped-def]
    connect()
    sim.generate_mentions("42", 2)
    sim.faults.add(Fault(kind="server_error", path_prefix="/2/users/42/mentions", status=503))
    sim.faults.add(Fault(kind="timeout", path_prefix="/2/users/42/mentions", delay=3))

    first = poll(session, connector_for)
    assert any("temporary" in e for e in first.errors)
    second = poll(session, connector_for, minutes=1.5)  # backoff 60 s: due again
    assert any("temporary" in e and "attempt 2" in e for e in second.errors)
    calls = requests_to(sim, "/mentions")
    poll(session, connector_for, minutes=2)  # backoff now 120 s: not yet due
    assert requests_to(sim, "/mentions") == calls
    third = poll(session, connector_for, minutes=4)
    assert third.new_messages == 2
    cursor = session.scalars(select(Cursor).where(Cursor.stream == "mentions")).one()
    session.refresh(cursor)
    assert (cursor.failures, cursor.last_error) == (0, None)


def test_malformed_body_neither_crashes_nor_loses_the_rest(
        session: Session, sim: SimState, connect, connector_for) -> None:  # type: ignore[no-untyped-def]
    connect()
    sim.generate_mentions("42", 4)
    sim.generate_dms("42", 2)
    sim.faults.add(Fault(kind="malformed", path_prefix="/2/users/42/mentions"))

    first = poll(session, connector_for)
    assert first.new_messages == 2  # the DMs came in; the mentions page was unreadable
    assert any("mentions" in e for e in first.errors)
    later = poll(session, connector_for, minutes=5)
    assert later.new_messages == 4
    assert count(session, Message) == 6


def test_expired_token_stops_that_account_only(session: Session, sim: SimState, connect,
                                               connector_for) -> None:  # type: ignore[no-untyped-def]
    broken, fine = connect("42", "acme"), connect("43", "acme_de")
    sim.generate_mentions("42", 2)
    sim.generate_mentions("43", 2)
    sim.faults.add(Fault(kind="auth_expired", path_prefix="/2/users/42/"))

    report = poll(session, connector_for)
    session.refresh(broken)
    session.refresh(fine)
    assert broken.needs_reconnect and "reconnection" in (broken.last_error or "")
    assert not fine.needs_reconnect
    fine_msgs = session.scalar(select(func.count()).select_from(Message).join(Conversation)
                               .where(Conversation.account_id == fine.id))
    assert fine_msgs == 2
    assert report.new_messages == 2

    before = requests_to(sim, "/2/users/42/")
    poll(session, connector_for, minutes=10)
    assert requests_to(sim, "/2/users/42/") == before  # no more calls for the broken one


def test_unreadable_credentials_stop_that_account_only(session: Session, sim: SimState, connect,
                                                       connector_for) -> None:  # type: ignore[no-untyped-def]
    broken = connect("42", "acme")
    connect("43", "acme_de")
    # Sealed with another key (SWITCHBOARD_ENCRYPTION_KEY changed since they were saved).
    broken.credentials_encrypted = CredentialBox(Fernet.generate_key().decode()).seal(
        {"bearer_token": "x"})
    session.add(broken)
    session.commit()
    sim.generate_mentions("43", 2)

    report = poll(session, connector_for)

    assert report.new_messages == 2  # the other account is polled as usual
    assert any("cannot decrypt" in e for e in report.errors)
    session.refresh(broken)
    assert broken.needs_reconnect and "ENCRYPTION_KEY" in (broken.last_error or "")


def test_adding_an_account_tells_an_unreachable_platform_from_refused_credentials(
        session: Session, sim: SimState, simulator, box: CredentialBox) -> None:  # type: ignore[no-untyped-def]
    brand = sim.add_brand("77", "acme_fr")
    with pytest.raises(Invalid, match="could not reach the platform"):
        add_account(session, box=box, platform="x", name="@acme_fr",
                    credentials=brand.credentials(), api_base_url="http://127.0.0.1:9",
                    timeout=0.5)
    with pytest.raises(Invalid, match="refused these credentials"):
        add_account(session, box=box, platform="x", name="@acme_fr",
                    credentials={"bearer_token": "not-a-token"},
                    api_base_url=simulator.base_url)
    assert count(session, Account) == 0


def test_posts_written_after_the_cycle_began_keep_their_own_times(
        session: Session, sim: SimState, connect, connector_for) -> None:  # type: ignore[no-untyped-def]
    connect()
    sim.add_user("7", "jane", "Jane Doe")
    began = utcnow()  # the cycle starts; Jane posts twice before the fetch reaches her
    root = sim.add_tweet("7", "@acme printer broken")
    newest = sim.add_tweet("7", "@acme hello??", in_reply_to=root.id)

    poll_due(session, connector_for, default_interval=60, now=began)

    times = dict(session.execute(select(Message.external_id, Message.created_at)).all())
    assert times[str(root.id)] < times[str(newest.id)]  # not both capped to the cycle start
    assert times[str(newest.id)] > began
