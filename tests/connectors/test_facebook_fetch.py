"""FacebookConnector.fetch against the simulator over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import (
    AuthExpired,
    ConnectorError,
    Permanent,
    Platform,
    RateLimited,
    ThreadKind,
    Transient,
)
from connectors.facebook import FacebookConnector
from connectors.simulator import SimulatorThread
from connectors.simulator.graph_state import Page
from tests.connectors.conftest import (
    FAN_ID,
    FAN_NAME,
    GRAPH,
    PAGE_ID,
    PAGE_NAME,
    FacebookControl,
)

MAX_ID = "5000000000000006"


def by_id(messages: list[Any]) -> dict[str, Any]:
    return {m.external_id: m for m in messages}


def test_comments_and_replies_become_threads_with_contacts(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    post = fb_control.page_post("Our spring sale starts today")
    question = fb_control.comment(post["id"], "my order never arrived")
    other = fb_control.comment(post["id"], "app crashes", name="Max Weber", person_id=MAX_ID)
    reply = fb_control.comment(question["id"], "same here!", name="Max Weber", person_id=MAX_ID)
    answer = fb_control.comment(question["id"], "Sorry Jane, we're on it", person_id=None)

    batch = fb.fetch("comments", None)

    found = by_id(batch.messages)
    assert set(found) == {question["id"], other["id"], reply["id"], answer["id"]}
    first = found[question["id"]]
    assert first.platform is Platform.FACEBOOK and first.thread_kind is ThreadKind.FB_COMMENT
    assert first.external_thread_id == question["id"] and first.in_reply_to is None
    assert (first.author.external_id, first.author.name) == (FAN_ID, FAN_NAME)
    assert first.text == "my order never arrived" and not first.is_own
    assert first.created_at is not None and first.created_at.tzinfo is not None
    assert first.url and first.url.startswith("https://www.facebook.com/")
    assert first.raw["post"] == {"id": post["id"], "message": "Our spring sale starts today",
                                 "permalink_url": first.raw["post"]["permalink_url"]}
    for member in (reply, answer):
        assert found[member["id"]].external_thread_id == question["id"]
        assert found[member["id"]].in_reply_to == question["id"]
    assert found[reply["id"]].author.name == "Max Weber"
    assert found[answer["id"]].is_own and found[answer["id"]].author.external_id == PAGE_ID
    assert found[other["id"]].external_thread_id == other["id"]
    assert not batch.has_more and batch.api_calls == 1


def test_a_visitor_post_is_a_thread_and_its_comments_join_it(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    fb_control.page_post("A post of the Page itself is no message")
    visitor = fb_control.visitor_post("Where is my refund?")
    answer = fb_control.comment(visitor["id"], "Hi Jane, checking now", person_id=None)
    again = fb_control.comment(answer["id"], "thanks")

    found = by_id(fb.fetch("comments", None).messages)

    assert set(found) == {visitor["id"], answer["id"], again["id"]}
    assert {m.external_thread_id for m in found.values()} == {visitor["id"]}
    assert not found[visitor["id"]].is_own and found[visitor["id"]].author.external_id == FAN_ID
    assert found[answer["id"]].is_own and found[answer["id"]].in_reply_to == visitor["id"]
    assert found[again["id"]].in_reply_to == answer["id"]


def test_a_second_fetch_with_the_cursor_brings_nothing_and_then_only_the_new(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    post = fb_control.page_post()
    fb_control.comment(post["id"], "first")
    batch = fb.fetch("comments", None)
    assert len(batch.messages) == 1

    again = fb.fetch("comments", batch.cursor)
    # The cursor overlaps the last minutes on purpose; the ids it remembers keep them out.
    assert again.messages == []

    newer = fb_control.comment(post["id"], "second")
    latest = fb.fetch("comments", again.cursor)
    assert [m.external_id for m in latest.messages] == [newer["id"]]
    assert fb.fetch("comments", latest.cursor).messages == []


def test_past_the_remembered_ids_the_overlap_comes_back_as_duplicates_only(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    post = fb_control.page_post()
    made = [fb_control.comment(post["id"], f"comment {n}") for n in range(3)]
    fb.max_seen = 2
    batch = fb.fetch("comments", None)

    again = fb.fetch("comments", batch.cursor)

    # Exactly the one id the cursor had no room for: already in the first batch, so ingest
    # (unique on platform and external id) ignores it.
    assert len(again.messages) == 1
    assert again.messages[0].external_id in {m["id"] for m in made}
    assert again.messages[0] in batch.messages


def test_new_comments_on_an_old_post_are_found(
    fb: FacebookConnector, fb_control: FacebookControl, sim: SimulatorThread
) -> None:
    old = fb_control.page_post("Last month's news", back_seconds=20 * 86400)
    fresh = fb_control.page_post("Today's news")
    fb_control.comment(fresh["id"], "hello")
    cursor = fb.fetch("comments", None).cursor

    late = fb_control.comment(old["id"], "is this offer still valid?")
    batch = fb.fetch("comments", cursor)

    assert [m.external_id for m in batch.messages] == [late["id"]]
    # The feed is asked for the posts of the whole window, not the posts since the cursor.
    since = int(sim.state.requests_log()[-1]["query"]["since"])
    assert since <= datetime.now(UTC).timestamp() - fb.post_window_days * 86400 + 5


def test_posts_and_comments_are_read_across_all_pages(
    fb: FacebookConnector, fb_control: FacebookControl, sim: SimulatorThread
) -> None:
    posts = [fb_control.page_post(f"post {n}") for n in range(5)]
    made = [fb_control.comment(posts[0]["id"], f"comment {n}", name=f"Fan {n}",
                               person_id=str(6000 + n)) for n in range(7)]
    made += [fb_control.comment(p["id"], "hi") for p in posts[1:]]
    fb.page_size, fb.nested_size = 2, 3

    batch = fb.fetch("comments", None)

    assert sorted(m.external_id for m in batch.messages) == sorted(c["id"] for c in made)
    requests_made = sim.state.requests_log()
    assert batch.api_calls == len(requests_made) == 3 + 2  # feed pages, then posts[0]'s comments
    follow_ups = requests_made[1:]
    assert all(r["query"].get("after") and r["query"].get("access_token") for r in follow_ups)
    assert any(r["path"] == f"{GRAPH}{posts[0]['id']}/comments" for r in follow_ups)


def test_messenger_threads_messages_and_contacts(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    question = fb_control.messenger("Do you ship to Italy?")
    answer = fb_control.messenger("Yes, in 3 to 5 days", from_page=True)
    other = fb_control.messenger("Hallo!", name="Max Weber", person_id=MAX_ID)

    batch = fb.fetch("messenger", None)

    found = by_id(batch.messages)
    assert set(found) == {question["id"], answer["id"], other["id"]}
    mine = found[question["id"]]
    assert mine.thread_kind is ThreadKind.FB_MESSENGER
    assert mine.external_thread_id == question["conversation_id"]
    assert mine.external_thread_id.startswith("t_") and mine.external_id.startswith("m_")
    assert (mine.author.external_id, mine.author.name) == (FAN_ID, FAN_NAME)
    assert mine.text == "Do you ship to Italy?" and not mine.is_own
    assert mine.url and mine.url.startswith("https://www.facebook.com/")
    assert mine.raw["conversation_id"] == mine.external_thread_id
    page_answer = found[answer["id"]]
    assert page_answer.is_own and page_answer.author.external_id == PAGE_ID
    assert page_answer.author.name == PAGE_NAME
    assert page_answer.external_thread_id == mine.external_thread_id
    assert found[other["id"]].external_thread_id != mine.external_thread_id
    assert fb.fetch("messenger", batch.cursor).messages == []


def test_messenger_pages_and_stops_at_conversations_older_than_the_cursor(
    fb: FacebookConnector, fb_control: FacebookControl, sim: SimulatorThread
) -> None:
    for n in range(5):  # Fan 0 wrote an hour ago, Fan 4 five hours ago
        for m in range(4):
            fb_control.messenger(f"message {m}", name=f"Fan {n}", person_id=str(7000 + n),
                                 back_seconds=3600 * (n + 1) + 10 * (3 - m))
    fb.page_size, fb.nested_size = 2, 3
    batch = fb.fetch("messenger", None)
    assert len(batch.messages) == 20
    assert batch.api_calls == 3 + 5  # conversation pages + one more page of messages each

    newer = fb_control.messenger("hello?", name="Fan 9", person_id="7009")
    before = len(sim.state.requests_log())
    latest = fb.fetch("messenger", batch.cursor)

    assert [m.external_id for m in latest.messages] == [newer["id"]]
    lists = [r for r in sim.state.requests_log()[before:]
             if r["path"] == f"{GRAPH}{PAGE_ID}/conversations"]
    # Page 1: Fan 9 and Fan 0 (inside the cursor's overlap); page 2 starts with Fan 1, older
    # than the cursor: reading stops there, page 3 is never asked for.
    assert len(lists) == 2


def test_a_run_stopped_at_the_page_cap_resumes_without_a_gap(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    made = [fb_control.messenger(f"hi {n}", name=f"Fan {n}", person_id=str(8000 + n))
            for n in range(7)]
    fb.page_size, fb.max_pages = 2, 2

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        batch = fb.fetch("messenger", cursor)
        seen += [m.external_id for m in batch.messages]
        cursor = batch.cursor
        assert cursor is not None and "access_token" not in cursor  # the token is a secret
        if not batch.has_more:
            break
    assert sorted(seen) == sorted(m["id"] for m in made)
    assert not batch.has_more
    assert fb.fetch("messenger", cursor).messages == []


@pytest.mark.parametrize(("fault", "error"), [
    ({"kind": "rate_limit", "code": 32}, RateLimited),
    ({"kind": "server_error"}, Transient),
])
def test_a_limit_or_error_on_a_later_page_keeps_the_pages_read(
    fb: FacebookConnector, fb_control: FacebookControl, fault: dict[str, Any],
    error: type[ConnectorError],
) -> None:
    made = [fb_control.messenger(f"hi {n}", name=f"Fan {n}", person_id=str(8100 + n))
            for n in range(5)]
    fb.page_size = 2
    fb_control.post("faults", {"path_prefix": f"{GRAPH}{PAGE_ID}/conversations", "skip": 1,
                               **fault})

    first = fb.fetch("messenger", None)

    assert len(first.messages) == 2
    assert type(first.interrupted) is error and not first.has_more
    assert first.cursor is not None and "access_token" not in first.cursor
    fb._graph.blocked_until = 0.0  # as after Meta's wait
    rest = fb.fetch("messenger", first.cursor)  # goes on with the page that failed
    assert rest.interrupted is None and not rest.has_more
    ids = [m.external_id for m in first.messages + rest.messages]
    assert sorted(ids) == sorted(m["id"] for m in made)  # no gap, nothing twice
    assert fb.fetch("messenger", rest.cursor).messages == []


def test_a_failure_inside_a_page_goes_on_with_that_page_next_time(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    # Newest first: Fan 3, Fan 2 on page one; Fan 1 (three messages, so a nested page) and
    # Fan 0 on page two. Reading Fan 1's nested page fails.
    made = [fb_control.messenger("hi 0", name="Fan 0", person_id="8300", back_seconds=400)]
    made += [fb_control.messenger(f"hi 1.{n}", name="Fan 1", person_id="8301",
                                  back_seconds=300 - 10 * n) for n in range(3)]
    made += [fb_control.messenger("hi 2", name="Fan 2", person_id="8302", back_seconds=200),
             fb_control.messenger("hi 3", name="Fan 3", person_id="8303", back_seconds=100)]
    fb.page_size, fb.nested_size = 2, 2
    fb_control.post("faults", {"path_prefix": f"{GRAPH}{made[1]['conversation_id']}/messages",
                               "kind": "server_error"})

    first = fb.fetch("messenger", None)

    assert isinstance(first.interrupted, Transient)
    assert sorted(m.text for m in first.messages) == ["hi 2", "hi 3"]  # page one only
    rest = fb.fetch("messenger", first.cursor)
    ids = [m.external_id for m in first.messages + rest.messages]
    assert sorted(ids) == sorted(m["id"] for m in made)  # page two read again, whole


def test_a_read_that_reports_full_usage_is_kept_and_the_next_call_waits(
    fb: FacebookConnector, fb_control: FacebookControl, sim: SimulatorThread
) -> None:
    made = [fb_control.messenger(f"hi {n}", name=f"Fan {n}", person_id=str(8200 + n))
            for n in range(3)]
    fb.page_size = 2
    fb_control.post("faults", {"path_prefix": f"{GRAPH}{PAGE_ID}/conversations",
                               "kind": "usage", "usage": 100})
    asked = len(sim.state.requests_log())

    first = fb.fetch("messenger", None)

    assert len(first.messages) == 2  # that answer was good: kept
    assert isinstance(first.interrupted, RateLimited)
    assert "at its limit" in str(first.interrupted)
    assert len(sim.state.requests_log()) == asked + 1  # the next page was not even asked for
    assert {m.external_id for m in first.messages} < {m["id"] for m in made}


def test_a_stale_resume_cursor_starts_that_run_over(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    message = fb_control.messenger("hi")
    stale = json.dumps({"since": int(datetime.now(UTC).timestamp()) - 600,
                        "resume": f"http://x{GRAPH}{PAGE_ID}/conversations?after=bm9wZQ",
                        "mark": 1})
    batch = fb.fetch("messenger", stale)
    assert [m.external_id for m in batch.messages] == [message["id"]]
    assert not batch.has_more


MISSING_FIELDS_FEED = {"data": [
    {"id": f"{PAGE_ID}_1", "from": {"id": PAGE_ID, "name": PAGE_NAME},
     "comments": {"data": [
         {"id": "1_2"},  # no from, message, created_time
         {"id": "1_3", "from": {"id": FAN_ID}, "message": "no name, no time"},
         {"message": "no id: cannot be stored, skipped with a warning"},
     ]}},
    {"id": f"{PAGE_ID}_4", "from": {"id": FAN_ID}},  # a visitor post with nothing else
]}
MISSING_FIELDS_CONVERSATIONS = {"data": [
    {"id": "t_9", "participants": {"data": [{"id": FAN_ID, "name": FAN_NAME},
                                            {"id": PAGE_ID, "name": PAGE_NAME}]},
     "messages": {"data": [{"id": "m_1"}, {"id": "m_2", "message": "hi", "from": {"id": FAN_ID}}]}},
    {"id": "t_10", "messages": {"data": [{"id": "m_3", "message": "no participants"}]}},
]}


@pytest.mark.parametrize(("stream", "body", "expected"), [
    ("comments", MISSING_FIELDS_FEED, {"1_2", "1_3", f"{PAGE_ID}_4"}),
    ("messenger", MISSING_FIELDS_CONVERSATIONS, {"m_1", "m_2", "m_3"}),
])
def test_missing_optional_fields_never_drop_a_message(
    fb: FacebookConnector, fb_control: FacebookControl, stream: str, body: dict[str, Any],
    expected: set[str]
) -> None:
    fb_control.fault("canned", path_prefix=GRAPH, body=body)

    batch = fb.fetch(stream, None)

    found = by_id(batch.messages)
    assert set(found) == expected
    for message in found.values():
        assert message.author.external_id in (FAN_ID, "unknown") and not message.is_own
    if stream == "messenger":
        assert found["m_1"].author.name == FAN_NAME  # from the participants
        assert found["m_3"].author.external_id == "unknown"
    else:
        assert found["1_2"].text == "" and found["1_2"].created_at is None
    assert batch.cursor


def test_verify_names_the_page_and_finds_its_id(sim: SimulatorThread, page: Page) -> None:
    fb = FacebookConnector(credentials={"page_token": page.token}, api_base_url=sim.base_url)
    identity = fb.verify()
    assert (identity.external_id, identity.handle, identity.name) == (PAGE_ID, "acme", PAGE_NAME)

    unnamed = FacebookConnector(credentials={"page_token": page.token},
                                api_base_url=sim.base_url)
    unnamed.fetch("messenger", None)
    assert [r["path"] for r in sim.state.requests_log()][-2:] == [
        f"{GRAPH}me", f"{GRAPH}{PAGE_ID}/conversations"]


def test_the_page_id_may_come_with_the_credentials(sim: SimulatorThread, page: Page) -> None:
    fb = FacebookConnector(credentials=page.credentials(), api_base_url=sim.base_url)
    fb.fetch("comments", None)
    assert [r["path"] for r in sim.state.requests_log()] == [f"{GRAPH}{PAGE_ID}/feed"]


def test_a_token_of_another_page_is_refused(sim: SimulatorThread, page: Page) -> None:
    fb = FacebookConnector(credentials={"page_token": page.token},
                           account_external_id="104000000000999", api_base_url=sim.base_url)
    with pytest.raises(AuthExpired, match="belongs to"):
        fb.verify()


def test_unknown_stream_and_missing_token_are_refused(sim: SimulatorThread, page: Page) -> None:
    with pytest.raises(AuthExpired):
        FacebookConnector(credentials={"page_id": PAGE_ID}, api_base_url=sim.base_url)
    fb = FacebookConnector(credentials=page.credentials(), api_base_url=sim.base_url)
    with pytest.raises(Permanent):
        fb.fetch("likes", None)
