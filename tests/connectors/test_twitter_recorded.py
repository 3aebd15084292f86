"""Real X responses (tweepy's recorded cassettes) served over loopback to the connector.

They were recorded without field parameters: no author expansion, no created_at, no
sender_id, no conversation ids. Each tweet and event must still become one message.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from connectors.base import OutgoingReply, ThreadKind
from connectors.simulator import SimulatorThread
from connectors.simulator.state import Brand
from connectors.twitter import TwitterConnector
from tests.connectors.conftest import CUSTOMER_ID, Control

RECORDED = Path(__file__).parent.parent / "fixtures" / "x-recorded"
EMPTY_PAGE = {"meta": {"result_count": 0}}


@cache
def recorded(cassette: str, method: str, path: str) -> Any:
    """The decoded JSON body of the recorded answer to METHOD PATH."""
    data = yaml.safe_load((RECORDED / cassette).read_text())
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        if request["method"] == method and urlsplit(request["uri"]).path == path:
            body = response["body"]["string"]
            if isinstance(body, bytes) and body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            return json.loads(body)
    raise LookupError(f"{cassette} has no {method} {path}")


def serve(control: Control, path: str, *bodies: Any, method: str = "GET",
          status: int = 200) -> None:
    for body in bodies:
        control.fault("canned", path_prefix=path, method=method, status=status, body=body)


@pytest.fixture
def twitter_account(sim: SimulatorThread, brand: Brand) -> TwitterConnector:
    """The connector posing as @Twitter, whose mentions were recorded."""
    return TwitterConnector(credentials=brand.credentials(), account_external_id="783214",
                            api_base_url=sim.base_url, timeout=2.0)


def test_recorded_mentions_all_become_messages(
    twitter_account: TwitterConnector, control: Control
) -> None:
    page = recorded("test_client_get_users_mentions.yaml", "GET", "/2/users/783214/mentions")
    assert "includes" not in page and "author_id" not in page["data"][0]
    serve(control, "/2/users/783214/mentions", page, EMPTY_PAGE)

    batch = twitter_account.fetch("mentions", None)

    assert [m.external_id for m in batch.messages] == [t["id"] for t in page["data"]]
    assert len(batch.messages) == 10
    for message, tweet in zip(batch.messages, page["data"], strict=True):
        assert message.text == tweet["text"] and message.raw == tweet
        assert message.author.external_id == "unknown" and message.author.handle is None
        assert message.external_thread_id == tweet["id"]  # no conversation_id: its own thread
        assert message.created_at is None and message.url is None and not message.is_own
    assert "\U0001f928" in batch.messages[5].text  # the recorded surrogate pair, decoded
    assert batch.cursor == page["meta"]["newest_id"]
    second = control.requests()[-1]["query"]
    assert second["pagination_token"] == page["meta"]["next_token"]


def test_recorded_dm_events_all_become_messages(x: TwitterConnector, control: Control) -> None:
    conversation = "750362064426721281-1072250532645998596"
    page = recorded("test_manage_and_lookup_direct_messages.yaml", "GET",
                    f"/2/dm_conversations/{conversation}/dm_events")
    assert "sender_id" not in page["data"][0]
    serve(control, "/2/dm_events", page, EMPTY_PAGE)

    batch = x.fetch("dms", None)

    assert [m.external_id for m in batch.messages] == [e["id"] for e in page["data"]]
    for message, event in zip(batch.messages, page["data"], strict=True):
        assert message.thread_kind is ThreadKind.X_DM
        assert message.external_thread_id == f"unknown-{event['id']}"
        assert message.author.external_id == "unknown" and message.created_at is None
        assert message.text == event["text"] and message.raw == event
    assert batch.cursor == "1585800613752881156"


def test_a_recorded_empty_dm_page_keeps_the_cursor(x: TwitterConnector, control: Control) -> None:
    page = recorded("test_manage_and_lookup_direct_messages.yaml", "GET", "/2/dm_events")
    serve(control, "/2/dm_events", page)
    batch = x.fetch("dms", "1585800613752881156")
    assert batch.messages == [] and batch.cursor == "1585800613752881156"


def test_odd_events_are_kept_too(x: TwitterConnector, control: Control) -> None:
    page = {"data": [
        {"id": "30", "event_type": "ParticipantsJoin", "dm_conversation_id": "9",
         "participant_ids": ["5"]},
        {"id": "20", "event_type": "MessageCreate", "text": "from a sender",
         "sender_id": "5"},
        {"id": "10", "event_type": "SomethingNew", "created_at": "not a date"},
    ], "meta": {"result_count": 3}}
    serve(control, "/2/dm_events", page)

    batch = x.fetch("dms", None)

    assert [(m.external_id, m.external_thread_id, m.text) for m in batch.messages] == [
        ("30", "9", ""), ("20", "unknown-5", "from a sender"), ("10", "unknown-10", "")]
    assert batch.messages[1].author.external_id == "5"
    assert batch.cursor == "30"


def test_recorded_get_me_verifies(x: TwitterConnector, control: Control) -> None:
    serve(control, "/2/users/me", recorded("test_client_get_me.yaml", "GET", "/2/users/me"))
    identity = x.verify()
    assert (identity.external_id, identity.handle, identity.name) == (
        "1072250532645998596", "TweepyDev", "Tweepy Testing")


def test_recorded_create_tweet_returns_its_id(x: TwitterConnector, control: Control) -> None:
    body = recorded("test_client_create_and_delete_tweet.yaml", "POST", "/2/tweets")
    serve(control, "/2/tweets", body, method="POST", status=201)
    reply = OutgoingReply(ThreadKind.X_MENTION, "1", "Test Tweet", in_reply_to="1")
    assert x.send(reply) == "1456012973835788293"


def test_recorded_create_dm_returns_the_event_id(x: TwitterConnector, control: Control) -> None:
    body = recorded("test_manage_and_lookup_direct_messages.yaml", "POST",
                    "/2/dm_conversations/with/750362064426721281/messages")
    serve(control, "/2/dm_conversations/", body, method="POST", status=201)
    reply = OutgoingReply(ThreadKind.X_DM, "", "Testing 1", recipient_id=CUSTOMER_ID)
    assert x.send(reply) == "1585800613253812228"
