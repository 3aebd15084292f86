"""The store's invariants (design.md), pinned on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from app.inbox.models import AuditEvent, Contact, Conversation, Message
from app.ingest import storable as storable_module
from app.ingest.service import IngestResult, get_cursor, ingest_batch
from app.text import mended
from connectors.base import InboundMessage
from tests import factories as f


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def conv(session: Session, thread: str = "t1") -> Conversation:
    session.expire_all()
    return session.scalars(
        select(Conversation).where(Conversation.external_thread_id == thread)
    ).one()


def test_batch_creates_contacts_threads_and_messages(session: Session) -> None:
    acc = f.account(session)
    batch = [
        f.inbound("printer broken", minutes=0, thread="t1", author="7"),
        f.inbound("still broken, funeral tomorrow", minutes=5, thread="t1", author="7"),
        f.inbound("hi there", minutes=3, thread="t2", author="8", handle="bob", name="Bob"),
    ]
    result = ingest_batch(session, account=acc, stream="mentions", messages=batch, cursor="c1")

    assert (result.new_messages, result.new_conversations) == (3, 2)
    assert count(session, Contact) == 2
    c1 = conv(session, "t1")
    assert c1.message_count == 2
    assert c1.status == "open"
    assert c1.waiting_since == f.at(0)  # waiting since the first unanswered message
    assert c1.last_message_at == f.at(5)
    assert c1.last_message_text == "still broken, funeral tomorrow"
    assert c1.contact_id is not None
    contact = session.get(Contact, c1.contact_id)
    assert contact and (contact.handle, contact.name) == ("jane", "Jane Doe")
    assert get_cursor(session, account_id=acc.id, stream="mentions") == "c1"
    assert result.conversation_ids == {c1.id, conv(session, "t2").id}


def test_same_batch_twice_stores_nothing_new(session: Session) -> None:
    acc = f.account(session)
    batch = [f.inbound("a", minutes=0, external_id="m1"), f.inbound("b", minutes=1,
                                                                    external_id="m2")]
    ingest_batch(session, account=acc, stream="mentions", messages=batch, cursor="c1")
    again = ingest_batch(session, account=acc, stream="mentions", messages=batch, cursor="c1")

    assert (again.new_messages, again.new_conversations) == (0, 0)
    assert again.conversation_ids == set()  # nothing changed, nothing to refresh
    assert count(session, Message) == 2
    assert conv(session).message_count == 2


def test_duplicates_within_one_batch_are_stored_once(session: Session) -> None:
    acc = f.account(session)
    m = f.inbound("a", external_id="dup")
    result = ingest_batch(session, account=acc, stream="mentions", messages=[m, m], cursor=None)
    assert result.new_messages == 1
    assert count(session, Message) == 1


def test_batch_failing_half_way_leaves_neither_messages_nor_cursor(session: Session) -> None:
    acc = f.account(session)
    session.commit()
    good = f.inbound("fine", minutes=0, external_id="ok1")
    # Not JSON-serializable: fails when the messages are written, after contacts and threads.
    bad = f.inbound("broken payload", minutes=1, external_id="bad1", thread="t9",
                    raw={"oops": object()})
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        ingest_batch(session, account=acc, stream="mentions", messages=[good, bad],
                     cursor="would-skip-both")
    session.rollback()

    assert count(session, Message) == 0
    assert count(session, Conversation) == 0
    assert count(session, Contact) == 0
    assert get_cursor(session, account_id=acc.id, stream="mentions") is None


def test_own_messages_are_outbound_and_answer_the_customer(session: Session) -> None:
    acc = f.account(session)
    batch = [
        f.inbound("help", minutes=0, author="7"),
        f.inbound("@jane on it!", minutes=10, author="42", handle="acme", is_own=True),
    ]
    ingest_batch(session, account=acc, stream="mentions", messages=batch, cursor=None)

    msgs = session.scalars(select(Message).order_by(Message.created_at)).all()
    assert [m.direction for m in msgs] == ["inbound", "outbound"]
    assert msgs[1].author_contact_id is None
    assert msgs[1].delivery_state == "sent"
    c = conv(session)
    assert c.waiting_since is None
    assert c.last_outbound_at == f.at(10)
    # The brand itself is not a contact.
    assert session.scalars(select(Contact.external_id)).all() == ["7"]


def test_customer_writing_after_reply_waits_again(session: Session) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[
        f.inbound("q1", minutes=0), f.inbound("answer", minutes=5, author="42", is_own=True),
        f.inbound("q2", minutes=9), f.inbound("q3", minutes=12),
    ])
    assert conv(session).waiting_since == f.at(9)


def test_resolved_conversation_reopens_and_starts_a_new_cycle(session: Session) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound("q1", minutes=0)])
    c = conv(session)
    c.status, c.resolved_at, c.waiting_since = "resolved", f.at(30), None
    session.add(c)
    session.flush()

    result = ingest_batch(session, account=acc, stream="m", cursor=None,
                          messages=[f.inbound("it broke again", minutes=60)])

    assert result.reopened == 1
    c = conv(session)
    assert (c.status, c.resolved_at) == ("open", None)
    assert c.cycle_started_at == f.at(60)
    assert c.waiting_since == f.at(60)
    actions = session.scalars(select(AuditEvent.action)
                              .where(AuditEvent.conversation_id == c.id)).all()
    assert actions == ["reopened"]


def test_late_copy_of_an_older_message_does_not_reopen(session: Session) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound("q1", minutes=0)])
    c = conv(session)
    c.status, c.resolved_at, c.waiting_since = "resolved", f.at(30), None
    session.add(c)
    session.flush()

    result = ingest_batch(session, account=acc, stream="m", cursor=None,
                          messages=[f.inbound("older", minutes=20)])
    assert result.reopened == 0
    assert conv(session).status == "resolved"


def test_new_customer_message_wakes_a_snoozed_conversation(session: Session) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound("q1", minutes=0)])
    c = conv(session)
    c.status, c.snoozed_until = "snoozed", f.at(24 * 60)
    session.add(c)
    session.flush()
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound("any news?", minutes=60)])
    c = conv(session)
    assert (c.status, c.snoozed_until) == ("open", None)


def test_missing_created_at_uses_arrival_time_and_keeps_raw(session: Session) -> None:
    acc = f.account(session)
    now = f.at(99)
    m = f.inbound("no time given", created_at=None, raw={"id": "1", "text": "no time given"})
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[m], now=now)
    stored = session.scalars(select(Message)).one()
    assert stored.created_at == now
    assert stored.received_at == now
    assert stored.raw == {"id": "1", "text": "no time given"}


def test_profile_fields_missing_later_keep_their_known_values(session: Session) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound("a", author="7", handle="jane", name="Jane")])
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound("b", author="7", handle=None, name="Jane D.")])
    contact = session.scalars(select(Contact)).one()
    session.refresh(contact)
    assert (contact.handle, contact.name) == ("jane", "Jane D.")


def test_same_thread_id_on_two_accounts_is_two_conversations(session: Session) -> None:
    a1, a2 = f.account(session), f.account(session)
    for acc in (a1, a2):
        ingest_batch(session, account=acc, stream="m", cursor=None,
                     messages=[f.inbound("x", thread="shared")])
    assert count(session, Conversation) == 2


def test_cursor_advances_without_messages(session: Session) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="dms", messages=[], cursor="e1")
    ingest_batch(session, account=acc, stream="dms", messages=[], cursor="e2")
    assert get_cursor(session, account_id=acc.id, stream="dms") == "e2"


def refiled(session: Session, *later: InboundMessage) -> IngestResult:
    """Store m1 in thread t1, then a batch in which the platform files m1 under
    another thread too (it stays where it is) beside `later`."""
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound("first", minutes=0, thread="t1", external_id="m1")])
    again = f.inbound("first", minutes=0, thread="t2", external_id="m1")
    return ingest_batch(session, account=acc, stream="m", cursor=None,
                        messages=[again, *later])


def test_new_thread_counts_only_the_messages_it_stored(session: Session) -> None:
    result = refiled(session, f.inbound("second", minutes=4, thread="t2", external_id="m2"))

    assert (result.new_messages, result.new_conversations) == (1, 1)
    t2 = conv(session, "t2")
    assert t2.message_count == 1
    assert (t2.first_message_at, t2.waiting_since) == (f.at(4), f.at(4))
    assert t2.last_message_text == "second"
    assert conv(session, "t1").message_count == 1


def test_no_empty_thread_when_all_its_messages_are_stored_elsewhere(session: Session) -> None:
    # t2 would hold nothing, no times, and sort where the inbox could not page past it.
    result = refiled(session, f.inbound("other", minutes=3, thread="t3", external_id="m3"))

    assert (result.new_messages, result.new_conversations) == (1, 1)
    session.expire_all()
    threads = session.scalars(select(Conversation.external_thread_id)).all()
    assert sorted(threads) == ["t1", "t3"]
    assert session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.last_message_at.is_(None))) == 0  # type: ignore[union-attr]


def test_text_and_payload_with_awkward_characters_are_stored_exactly(session: Session) -> None:
    acc = f.account(session)
    text = 'he said "{a,b}" \\ NULL, ü 😀\nline two\t'
    raw = {"text": text, "list": [1, None, "{x}"], "nested": {"quote": '"'}}
    ingest_batch(session, account=acc, stream="m", cursor=None,
                 messages=[f.inbound(text, raw=raw, external_id="odd")])
    stored = session.scalars(select(Message).where(Message.external_id == "odd")).one()
    assert (stored.text, stored.raw) == (text, raw)


def test_broken_characters_are_mended_and_the_batch_still_stored(session: Session) -> None:
    """Half an emoji (a lone surrogate from the platform's JSON) and NUL fit neither
    store: they become U+FFFD, the rest is kept, and the batch and cursor go in."""
    acc = f.account(session)
    half, nul = "\ud83d", "\x00"
    broken = f.inbound(f"printer {half}broken{nul} 😀", external_id="broken", author="9",
                       name=f"Ann{half}", raw={"text": f"{half}x", f"k{nul}": [nul, 1]})
    fine = f.inbound("my order never arrived", external_id="fine", thread="t2")
    result = ingest_batch(session, account=acc, stream="m", cursor="c9",
                          messages=[broken, fine])
    assert result.new_messages == 2
    stored = session.scalars(select(Message).where(Message.external_id == "broken")).one()
    assert stored.text == "printer \ufffdbroken\ufffd 😀"
    assert stored.raw == {"text": "\ufffdx", "k\ufffd": ["\ufffd", 1]}
    assert session.scalars(select(Contact.name).where(Contact.external_id == "9")).one() \
        == "Ann\ufffd"
    assert get_cursor(session, account_id=acc.id, stream="m") == "c9"


@pytest.mark.parametrize(("text", "stored"), [
    ("plain", "plain"), ("a\x00b", "a\ufffdb"), ("ü\x00", "ü\ufffd"),
    ("\ud83d\ude00 pair", "😀 pair"), ("x\udc00", "x\ufffd"), ("Grüße 😀", "Grüße 😀"),
])
def test_mended_keeps_what_can_be_stored(text: str, stored: str) -> None:
    assert mended(text) == stored


def test_every_text_field_of_a_message_is_checked() -> None:
    # storable() picks the text fields from the dataclasses' annotations: a field typed
    # another way would go unchecked.
    m = f.inbound("x", raw={})
    author = replace(m.author, avatar_url="a", profile_url="p")
    m = replace(m, in_reply_to="r", url="u", author=author)
    for obj, checked in ((m, storable_module._MESSAGE_FIELDS),
                         (author, storable_module._AUTHOR_FIELDS)):
        texts = {fl.name for fl in fields(obj)
                 if type(getattr(obj, fl.name)) is str}  # enums are not plain str
        assert texts == set(checked)


def test_large_batch_over_many_threads(session: Session) -> None:
    acc = f.account(session)
    batch = [f.inbound(f"m{i}", minutes=i, thread=f"t{i % 700}", author=str(i % 450),
                       external_id=f"big{i}") for i in range(1500)]
    first = ingest_batch(session, account=acc, stream="m", messages=batch, cursor=None)
    again = ingest_batch(session, account=acc, stream="m", cursor=None, messages=[
        *batch[:10], f.inbound("late", minutes=2000, thread="t3", external_id="big-late")])

    assert (first.new_messages, first.new_conversations) == (1500, 700)
    assert (again.new_messages, again.new_conversations) == (1, 0)
    assert count(session, Contact) == 450
    assert conv(session, "t3").message_count == 4  # 3, 703, 1403 and the late one
    assert conv(session, "t3").last_message_text == "late"


def test_a_time_ahead_of_ours_is_stored_as_when_we_received_it(session: Session) -> None:
    # The platform's clock runs 30 s ahead: no wait may start in the future.
    acc = f.account(session)
    ahead = f.inbound("hello?", minutes=10.5, raw={"created_at": "ahead"})
    ingest_batch(session, account=acc, stream="mentions", messages=[ahead], cursor=None,
                 now=f.at(10))
    stored = session.scalars(select(Message)).one()
    assert stored.created_at == f.at(10)
    assert stored.raw == {"created_at": "ahead"}  # the platform's own record is kept
    c = conv(session)
    assert (c.waiting_since, c.last_inbound_at, c.last_message_at) == (f.at(10),) * 3
