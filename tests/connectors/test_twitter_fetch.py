"""TwitterConnector.fetch against the simulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import (
    AuthExpired,
    ConnectorError,
    OutgoingReply,
    Permanent,
    Platform,
    RateLimited,
    ThreadKind,
    Transient,
)
from connectors.simulator import SimulatorThread
from connectors.simulator.state import Brand
from connectors.twitter import TwitterConnector
from tests.connectors.conftest import BRAND_ID, CUSTOMER_ID, Control


def test_mentions_become_messages_with_authors_and_threads(
    x: TwitterConnector, control: Control
) -> None:
    first = control.mention("my order never arrived")
    follow = control.mention("any news?", in_reply_to=first["id"])
    other = control.mention("app crashes", username="max", user_id="8000000000000000008")

    batch = x.fetch("mentions", None)

    by_id = {m.external_id: m for m in batch.messages}
    assert list(by_id) == [other["id"], follow["id"], first["id"]]  # newest first, as X sends
    reply = by_id[follow["id"]]
    assert reply.platform is Platform.X
    assert reply.thread_kind is ThreadKind.X_MENTION
    assert reply.external_thread_id == first["id"] == by_id[first["id"]].external_thread_id
    assert reply.in_reply_to == first["id"]
    assert reply.author.external_id == CUSTOMER_ID
    assert reply.author.handle == "jane"
    assert reply.author.name == "Jane"
    assert reply.author.profile_url == "https://x.com/jane"
    assert reply.author.avatar_url and reply.author.follower_count == 0
    assert reply.text == "@acme_support any news?"
    assert reply.url == f"https://x.com/jane/status/{follow['id']}"
    assert reply.created_at is not None and reply.created_at.tzinfo is not None
    assert reply.raw["id"] == follow["id"] and reply.raw["author_id"] == CUSTOMER_ID
    assert not reply.is_own
    assert by_id[other["id"]].author.handle == "max"
    assert batch.cursor == other["id"]
    assert not batch.has_more


def test_mentions_are_read_across_all_pages_in_one_fetch(
    x: TwitterConnector, sim: SimulatorThread, control: Control
) -> None:
    made = sim.state.generate_mentions(BRAND_ID, 23)
    x.page_size = 5

    batch = x.fetch("mentions", None)

    assert sorted(m.external_id for m in batch.messages) == sorted(str(t.id) for t in made)
    assert batch.api_calls == 5
    assert batch.cursor == str(max(t.id for t in made))
    tokens = [r["query"].get("pagination_token") for r in control.requests()]
    assert tokens[0] is None and all(tokens[1:]) and len(set(tokens[1:])) == 4


def test_a_second_fetch_with_the_cursor_returns_only_what_is_new(
    x: TwitterConnector, control: Control
) -> None:
    control.mention("first")
    batch = x.fetch("mentions", None)

    again = x.fetch("mentions", batch.cursor)
    assert again.messages == []
    assert again.cursor == batch.cursor
    assert control.requests()[-1]["query"]["since_id"] == batch.cursor

    newer = control.mention("second")
    latest = x.fetch("mentions", again.cursor)
    assert [m.external_id for m in latest.messages] == [newer["id"]]
    assert latest.cursor == newer["id"]


def test_a_run_stopped_at_the_page_cap_resumes_without_a_gap(
    x: TwitterConnector, sim: SimulatorThread
) -> None:
    made = sim.state.generate_mentions(BRAND_ID, 23)
    x.page_size, x.max_pages = 5, 2

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        batch = x.fetch("mentions", cursor)
        seen += [m.external_id for m in batch.messages]
        cursor = batch.cursor
        if not batch.has_more:
            break
    assert sorted(seen) == sorted(str(t.id) for t in made)
    assert cursor == str(max(t.id for t in made))
    assert x.fetch("mentions", cursor).messages == []


@pytest.mark.parametrize(("fault", "error"), [
    ({"kind": "rate_limit", "reset_in": 600}, RateLimited),
    ({"kind": "server_error", "status": 503}, Transient),
])
def test_a_limit_or_error_on_a_later_page_keeps_the_pages_read(
    x: TwitterConnector, sim: SimulatorThread, control: Control, fault: dict[str, Any],
    error: type[ConnectorError],
) -> None:
    made = sim.state.generate_mentions(BRAND_ID, 13)
    x.page_size = 5
    control.fault(path_prefix=f"/2/users/{BRAND_ID}/mentions", skip=1, **fault)

    first = x.fetch("mentions", None)

    assert len(first.messages) == 5  # the first page, newest first
    assert type(first.interrupted) is error and not first.has_more
    assert first.cursor is not None and first.cursor.startswith("resume:")
    rest = x.fetch("mentions", first.cursor)  # goes on with the page that failed
    assert rest.interrupted is None and not rest.has_more
    ids = [m.external_id for m in first.messages + rest.messages]
    assert sorted(ids) == sorted(str(t.id) for t in made)  # no gap, nothing twice
    assert rest.cursor == str(max(t.id for t in made))


def test_a_limit_on_the_first_page_is_raised(x: TwitterConnector, sim: SimulatorThread,
                                             control: Control) -> None:
    sim.state.generate_mentions(BRAND_ID, 3)
    control.fault("rate_limit", path_prefix=f"/2/users/{BRAND_ID}/mentions", reset_in=600)
    with pytest.raises(RateLimited):
        x.fetch("mentions", None)


def test_a_stale_resume_token_falls_back_to_the_stored_id(
    x: TwitterConnector, control: Control
) -> None:
    old = control.mention("already stored")
    new = control.mention("not yet")

    batch = x.fetch("mentions", f"resume:{new['id']}:{old['id']}:expiredtoken1")

    assert [m.external_id for m in batch.messages] == [new["id"]]
    assert batch.cursor == new["id"] and not batch.has_more


def test_a_long_post_keeps_its_full_text(x: TwitterConnector, control: Control) -> None:
    long_text = "my story: " + "lorem ipsum " * 40
    control.mention(long_text)
    [message] = x.fetch("mentions", None).messages
    assert message.text == f"@acme_support {long_text}"
    assert len(message.raw["text"]) == 280


def test_dms_are_paged_and_stop_at_the_cursor(x: TwitterConnector, sim: SimulatorThread,
                                              control: Control) -> None:
    made = sim.state.generate_dms(BRAND_ID, 25)
    x.page_size = 10

    batch = x.fetch("dms", None)
    assert sorted(m.external_id for m in batch.messages) == sorted(str(e.id) for e in made)
    assert batch.api_calls == 3
    assert batch.cursor == str(max(e.id for e in made))
    event = next(m for m in batch.messages if m.external_id == str(made[0].id))
    assert event.thread_kind is ThreadKind.X_DM
    assert event.external_thread_id == made[0].dm_conversation_id
    assert event.author.external_id == made[0].sender_id and event.author.handle
    assert not event.is_own and event.created_at is not None

    new = [control.dm("hello again"), control.dm("still there?")]
    before = len(control.requests())
    latest = x.fetch("dms", batch.cursor)
    assert [m.external_id for m in latest.messages] == [new[1]["id"], new[0]["id"]]
    assert latest.api_calls == 1  # the first page already reached the cursor
    assert len(control.requests()) == before + 1
    assert latest.cursor == new[1]["id"]
    assert x.fetch("dms", latest.cursor).messages == []


def test_own_posts_and_own_dms_are_marked_own(x: TwitterConnector, control: Control) -> None:
    question = control.mention("where is my parcel?")

    reply_id = x.send(OutgoingReply(ThreadKind.X_MENTION, question["id"], "@jane on its way",
                                    in_reply_to=question["id"]))
    dm_id = x.send(OutgoingReply(ThreadKind.X_DM, "", "details by DM", recipient_id=CUSTOMER_ID))

    own = x.fetch("own_tweets", None)
    assert [m.external_id for m in own.messages] == [reply_id]
    mine = own.messages[0]
    assert mine.is_own and mine.author.external_id == BRAND_ID
    assert mine.external_thread_id == question["id"] and mine.in_reply_to == question["id"]
    assert mine.url == f"https://x.com/acme_support/status/{reply_id}"

    dms = x.fetch("dms", None)
    assert [(m.external_id, m.is_own) for m in dms.messages] == [(dm_id, True)]

    answer = control.mention("thanks!", in_reply_to=reply_id)
    mentions = x.fetch("mentions", None)
    theirs = next(m for m in mentions.messages if m.external_id == answer["id"])
    assert theirs.in_reply_to == reply_id and theirs.external_thread_id == question["id"]


def test_account_id_comes_from_users_me_when_not_given(
    sim: SimulatorThread, brand: Brand, control: Control
) -> None:
    x = TwitterConnector(credentials=brand.credentials(), api_base_url=sim.base_url)
    control.mention("hi")
    batch = x.fetch("mentions", None)
    assert len(batch.messages) == 1 and batch.api_calls == 2
    assert [r["path"] for r in control.requests()][0] == "/2/users/me"


def test_bearer_only_reads_mentions_but_not_dms(
    sim: SimulatorThread, brand: Brand, control: Control
) -> None:
    x = TwitterConnector(credentials={"bearer_token": brand.bearer_token},
                         account_external_id=BRAND_ID, api_base_url=sim.base_url)
    control.mention("hi")
    assert len(x.fetch("mentions", None).messages) == 1
    with pytest.raises(Permanent, match="Application-Only"):
        x.fetch("dms", None)


def test_verify_names_the_account(x: TwitterConnector) -> None:
    identity = x.verify()
    assert (identity.external_id, identity.handle, identity.name) == (
        BRAND_ID, "acme_support", "Acme Support")


def test_unknown_stream_and_missing_credentials_are_refused(sim: SimulatorThread) -> None:
    with pytest.raises(AuthExpired):
        TwitterConnector(credentials={"consumer_key": "only-one"}, api_base_url=sim.base_url)
    x = TwitterConnector(credentials={"bearer_token": "b"}, account_external_id=BRAND_ID,
                         api_base_url=sim.base_url)
    with pytest.raises(Permanent):
        x.fetch("likes", None)


def test_timestamps_are_parsed_as_utc(x: TwitterConnector, control: Control) -> None:
    control.mention("hi")
    message = x.fetch("mentions", None).messages[0]
    assert message.created_at is not None
    assert abs((datetime.now(UTC) - message.created_at).total_seconds()) < 60
