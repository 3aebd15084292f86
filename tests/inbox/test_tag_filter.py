"""The inbox list filtered by a tag: the tagged conversations in inbox order, page after
page, with other filters, and counted; on SQLite whether the waiting run's page fills from
the window of conversations looked at first (service.TAG_WINDOW) or not."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.inbox import service
from app.inbox.models import ConversationTag, Tag
from app.inbox.service import ConversationFilter, Sort, count_conversations, list_conversations
from app.ingest.service import ingest_batch
from tests import factories as f


@pytest.fixture(autouse=True, params=[1, 3, 2_000])
def window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """1: every page falls back to reading the tag whole; 3: some pages fill from the
    window and some do not; 2,000: the window holds the whole run."""
    monkeypatch.setattr(service, "TAG_WINDOW", request.param)
    monkeypatch.setattr(service, "TAG_SMALL", 1)  # this test's tag is small
    return int(request.param)


@pytest.fixture
def tagged(session: Session) -> tuple[int, list[str]]:
    """Twelve threads, every third one answered; threads 0, 2, 3, 5, 6, 9 and 11 carry
    the tag. Returns the tag's id and every thread in the order the inbox lists them."""
    acc = f.account(session)
    messages = []
    for i in range(12):
        messages.append(f.inbound(f"question {i}", minutes=i, thread=f"t{i}", author=str(i)))
        if i % 3 == 0:
            messages.append(f.inbound("answer", minutes=20 + i, thread=f"t{i}", is_own=True))
    result = ingest_batch(session, account=acc, stream="mentions", messages=messages,
                          cursor=None)
    session.commit()
    tag = Tag(name="refund")
    session.add(tag)
    session.flush()
    assert tag.id is not None
    ids = {c.external_thread_id: c.id for c, _, _ in list_conversations(
        session, filters=ConversationFilter(), limit=50).items}
    assert sorted(ids.values()) == sorted(result.conversation_ids)
    for i in (0, 2, 3, 5, 6, 9, 11):
        session.add(ConversationTag(conversation_id=ids[f"t{i}"], tag_id=tag.id))
    session.commit()
    waiting = [f"t{i}" for i in range(12) if i % 3]  # longest waiting first
    answered = [f"t{i}" for i in (9, 6, 3, 0)]  # then the answered ones, newest first
    return tag.id, waiting + answered


def pages(session: Session, filters: ConversationFilter, sort: Sort) -> list[str]:
    threads: list[str] = []
    cursor = None
    while True:
        page = list_conversations(session, filters=filters, sort=sort, limit=2, cursor=cursor)
        threads += [conv.external_thread_id for conv, _, _ in page.items]
        if page.next_cursor is None:
            return threads
        cursor = page.next_cursor


def test_tag_list_pages_in_inbox_order(session: Session,
                                       tagged: tuple[int, list[str]]) -> None:
    tag_id, order = tagged
    with_tag = {"t0", "t2", "t3", "t5", "t6", "t9", "t11"}
    assert pages(session, ConversationFilter(tag_id=tag_id), Sort.WAITING) == [
        t for t in order if t in with_tag]
    assert pages(session, ConversationFilter(tag_id=tag_id), Sort.NEWEST) == [
        "t9", "t6", "t3", "t0", "t11", "t5", "t2"]  # answers came after every question
    assert count_conversations(session, ConversationFilter(tag_id=tag_id)) == 7


def test_tag_with_other_filters_and_an_unused_tag(session: Session,
                                                  tagged: tuple[int, list[str]]) -> None:
    tag_id, _ = tagged
    assert pages(session, ConversationFilter(tag_id=tag_id, q="question"), Sort.WAITING) == [
        "t2", "t5", "t11", "t9", "t6", "t3", "t0"]
    assert pages(session, ConversationFilter(tag_id=tag_id, status="resolved"),
                 Sort.WAITING) == []
    assert pages(session, ConversationFilter(tag_id=tag_id + 1), Sort.WAITING) == []


def test_a_small_tag_is_read_whole(session: Session, tagged: tuple[int, list[str]],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tag_id, order = tagged
    monkeypatch.setattr(service, "TAG_SMALL", 8)  # the tag is on 7 conversations
    windows: list[object] = []
    real = service._tag_window
    monkeypatch.setattr(service, "_tag_window", lambda *a: windows.append(real(*a)))
    assert len(pages(session, ConversationFilter(tag_id=tag_id), Sort.WAITING)) == 7
    assert windows and all(w is None for w in windows)


@pytest.mark.parametrize("phase", [0, 1, 2])
def test_reading_without_the_order_index_gives_the_same_pages(
        session: Session, tagged: tuple[int, list[str]], phase: int) -> None:
    """PostgreSQL reads a rare tag's rest with walk=False (no index walk): same rows, same
    order, same keyset continuation as the indexed read, on either store."""
    tag_id, _ = tagged
    ids = service._filtered(session, ConversationFilter(tag_id=tag_id), rows=False)
    for after_first in (False, True):
        first = service._page_rows(session, ids, phase, None, 2)
        assert first, "the fixture gives every run at least two rows"
        after = None
        if after_first:
            conv = first[-1][0]
            key = service._runs()[phase][0].key
            after = (getattr(conv, key), conv.id)
        for want in (2, 50):  # a short page tells whether the right rows were cut off
            walked = service._page_rows(session, ids, phase, after, want)
            unwalked = service._page_rows(session, ids, phase, after, want, walk=False)
            assert [r[0].id for r in unwalked] == [r[0].id for r in walked]
