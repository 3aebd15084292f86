"""The simulator speaks X's shapes, is deterministic, and its control API works."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
import requests
import tweepy

from connectors.http import RedirectSession
from connectors.simulator import SimState, SimulatorThread, demo_state
from connectors.simulator.state import Brand, DmEvent, Rejected, Tweet
from tests.connectors.conftest import BRAND_ID, Control

MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def texts(made: list[Tweet | DmEvent]) -> list[str]:
    return [m.text for m in made]


def test_generated_traffic_is_deterministic_per_seed() -> None:
    def traffic(seed: int) -> tuple[list[str], list[str]]:
        state = SimState(seed)
        state.add_brand(BRAND_ID, "acme")
        made = state.generate_traffic(BRAND_ID, 40, dm_share=0.3)
        return texts(made), sorted(u.username for u in state.users.values())

    assert traffic(3) == traffic(3)
    assert traffic(3) != traffic(4)


def test_generated_traffic_mixes_languages_threads_and_distress() -> None:
    state = SimState(11)
    state.add_brand(BRAND_ID, "acme")
    made = state.generate_traffic(BRAND_ID, 300, dm_share=0.3)
    tweets = [m for m in made if isinstance(m, Tweet)]
    dms = [m for m in made if isinstance(m, DmEvent)]
    assert tweets and dms
    assert {u.lang for u in state.users.values() if u.id != BRAND_ID} == {"de", "en"}
    assert any(t.replied_to for t in tweets), "some posts continue a conversation"
    assert any(re.search(r"funeral|Beerdigung|insulin|Medikamente", t.text) for t in tweets)
    ids = [m.id for m in made]
    stamps = [m.created_at for m in made]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert stamps == sorted(stamps)


def test_back_dated_traffic_stays_in_time_order() -> None:
    state = demo_state(2, count=30, spread_seconds=3600)
    everything: list[Tweet | DmEvent] = [*state.tweets.values(), *state.dms.values()]
    made = sorted(everything, key=lambda m: m.id)
    stamps = [m.created_at for m in made]
    assert stamps == sorted(stamps)
    assert (datetime.now(UTC) - stamps[0]).total_seconds() > 3000


def test_responses_carry_x_headers_and_shapes(sim: SimulatorThread, brand: Brand,
                                              control: Control) -> None:
    control.mention("hi")
    url = f"{sim.base_url}/2/users/{BRAND_ID}/mentions"
    auth = {"Authorization": f"Bearer {brand.bearer_token}"}

    bare = requests.get(url, headers=auth, timeout=5)
    full = requests.get(url, headers=auth, timeout=5, params={
        "tweet.fields": "created_at,author_id,conversation_id", "expansions": "author_id",
        "user.fields": "username,public_metrics"})
    denied = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)

    for response in (bare, full, denied):
        assert response.headers["content-type"] == "application/json"
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
            response.headers)
    assert set(bare.json()["data"][0]) == {"id", "text", "edit_history_tweet_ids"}
    tweet = full.json()["data"][0]
    assert isinstance(tweet["id"], str) and isinstance(tweet["author_id"], str)
    assert MILLIS.match(tweet["created_at"])
    assert full.json()["includes"]["users"][0]["public_metrics"]["followers_count"] == 0
    assert full.json()["meta"]["newest_id"] == tweet["id"]
    assert denied.status_code == 401
    assert denied.json() == {"title": "Unauthorized", "type": "about:blank", "status": 401,
                             "detail": "Unauthorized"}


def test_tweepy_models_parse_the_simulator(sim: SimulatorThread, brand: Brand,
                                           control: Control) -> None:
    """tweepy's own parser is strict about created_at (platforms.md A2)."""
    control.mention("hi")
    client = tweepy.Client(bearer_token=brand.bearer_token)
    client.session = RedirectSession(sim.base_url, 2.0)
    response = client.get_users_mentions(BRAND_ID, tweet_fields=["created_at"])
    assert isinstance(response, tweepy.Response)
    assert response.data[0].created_at.tzinfo is not None


def test_pagination_tokens_and_limits(sim: SimulatorThread, brand: Brand) -> None:
    sim.state.generate_mentions(BRAND_ID, 12)
    url = f"{sim.base_url}/2/users/{BRAND_ID}/mentions"
    auth = {"Authorization": f"Bearer {brand.bearer_token}"}
    ids: list[str] = []
    params: dict[str, str] = {"max_results": "5"}
    while True:
        page = requests.get(url, headers=auth, params=params, timeout=5).json()
        ids += [t["id"] for t in page["data"]]
        if "next_token" not in page["meta"]:
            break
        params["pagination_token"] = page["meta"]["next_token"]
    assert len(ids) == 12 and ids == sorted(ids, reverse=True)
    for bad in ({"max_results": "200"}, {"max_results": "4"}, {"pagination_token": "%%"}):
        assert requests.get(url, headers=auth, params=bad, timeout=5).status_code == 400


@pytest.mark.parametrize(("text", "status"), [
    ("日" * 140, 201), ("日" * 141, 403), ("😀" * 141, 403),
    ("see https://example.com/" + "x" * 300, 201),
])
def test_posts_are_refused_by_x_weighted_length(sim: SimulatorThread, brand: Brand,
                                                text: str, status: int) -> None:
    auth = {"Authorization": f"Bearer {brand.access_token}"}
    answer = requests.post(f"{sim.base_url}/2/tweets", json={"text": text}, headers=auth,
                           timeout=5)
    assert answer.status_code == status, answer.text
    assert len(sim.state.sent_items(BRAND_ID)) == (status == 201)


def test_brand_posts_show_up_in_timeline_and_dm_events(sim: SimulatorThread) -> None:
    state = sim.state
    [question] = state.generate_mentions(BRAND_ID, 1)
    reply = state.add_tweet(BRAND_ID, "on it", question.id, via_api=True)
    event = state.add_dm(BRAND_ID, question.author_id, "details?", via_api=True)
    assert state.timeline_of(BRAND_ID) == [reply]
    assert state.dm_events_of(BRAND_ID) == [event]
    assert reply.conversation_id == question.id
    assert [s["kind"] for s in state.sent_items(BRAND_ID)] == ["tweet", "dm"]


def test_group_conversations_are_read_and_written_by_their_id(sim: SimulatorThread) -> None:
    state = sim.state
    state.add_user("7", "jane")
    state.add_user("8", "max")
    state.add_user("9", "eve")
    group = state.add_group(["7", BRAND_ID, "8"])
    asked = state.add_group_dm("7", group, "our orders?")
    answered = state.send_dm_to_conversation(BRAND_ID, group, "on it")
    state.add_dm("7", BRAND_ID, "just me")  # the 1:1 conversation is another one

    assert state.dm_events_of("8", group) == [answered, asked]  # every member reads them
    assert state.dm_events_of(BRAND_ID, group) == [answered, asked]
    with pytest.raises(Rejected, match="not a participant"):
        state.send_dm_to_conversation("9", group, "let me in")
    with pytest.raises(Rejected, match="at least two"):
        state.add_group(["7", BRAND_ID])
    [sent] = state.sent_items(BRAND_ID)
    assert (sent["dm_conversation_id"], sent["participant_id"]) == (group, None)


def test_control_api_faults_and_reset(sim: SimulatorThread, control: Control) -> None:
    control.fault("server_error", path_prefix="/2/users/", count=3)
    assert control.get("faults")["faults"][0]["count"] == 3
    bad = requests.post(f"{sim.base_url}/_sim/faults", json={"kind": "gremlins"}, timeout=5)
    assert bad.status_code == 400
    generated = control.post("traffic", {"brand_id": BRAND_ID, "count": 10, "dm_share": 0.5})
    assert len(generated["tweets"]) + len(generated["events"]) == 10

    control.post("reset", {})

    assert control.get("faults")["faults"] == []
    assert sim.state.tweets == {} and sim.state.dms == {}
    assert [b["user_id"] for b in control.get("brands")["brands"]] == [BRAND_ID]


def test_brands_get_x_shaped_tokens() -> None:
    with SimulatorThread() as own:
        made = Control(own.base_url).post("brands", {"user_id": "4242", "username": "other"})
        assert made["credentials"]["access_token"].startswith("4242-")
        assert own.state.brand_for_token(made["credentials"]["access_token"]) == (
            own.state.brands["4242"], True)
    with pytest.raises(ValueError):
        SimState().add_brand("1", "x", access_token="not-shaped")


def test_simulator_stays_out_of_the_access_log_the_app_sets_up() -> None:
    """In the demo the app's own uvicorn logs access; a simulator running beside it must
    neither log its requests there (their query carries access tokens) nor reset it."""
    access = logging.getLogger("uvicorn.access")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        with SimulatorThread(seed=2) as sim:
            answer = requests.get(f"{sim.base_url}/2/users/me?access_token=secret", timeout=5)
            access.info("%s - app request", "127.0.0.1")
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert answer.status_code in (200, 401)  # answered: the request reached the simulator
    assert [r.getMessage() for r in seen] == ["127.0.0.1 - app request"]
