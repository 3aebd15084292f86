"""The simulator speaks Graph's shapes, enforces the Send API's rules and is deterministic."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import facebook
import pytest
import requests

from connectors.base import RateLimited
from connectors.facebook import FacebookConnector
from connectors.http import RedirectSession
from connectors.simulator import DEMO_PAGE_ID, DEMO_PAGE_TOKEN, SimState, demo_state, graph_api
from connectors.simulator.graph_state import Comment, FbMessage, GraphError, Page, Post
from connectors.simulator.graph_traffic import generate
from connectors.simulator.server import SimulatorThread
from tests.connectors.conftest import FAN_ID, GRAPH, PAGE_ID, FacebookControl

GRAPH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
HOUR, DAY = 3600.0, 86400.0


def graph(sim: SimulatorThread, page: Page, path: str, method: str = "GET",
          **params: Any) -> requests.Response:
    params["access_token"] = page.token
    if method == "POST":
        return requests.post(f"{sim.base_url}{GRAPH}{path}", data=params, timeout=5)
    return requests.get(f"{sim.base_url}{GRAPH}{path}", params=params, timeout=5)


def test_answers_have_graph_content_type_usage_headers_and_shapes(
    sim: SimulatorThread, page: Page, fb_control: FacebookControl
) -> None:
    post = fb_control.page_post()
    comment = fb_control.comment(post["id"], "hi")
    reply = fb_control.comment(comment["id"], "again")
    fields = "id,from,created_time,comments.filter(stream){id,from,message,created_time,parent}"

    ok = graph(sim, page, f"{PAGE_ID}/feed", fields=fields)
    refused = graph(sim, page, f"{PAGE_ID}/feed", fields="id,nonsense")
    no_token = requests.get(f"{sim.base_url}{GRAPH}{PAGE_ID}/feed", timeout=5)

    for response in (ok, refused, no_token):
        assert response.headers["content-type"] == "application/json; charset=UTF-8"
    assert json.loads(ok.headers["x-app-usage"])["call_count"] >= 0
    usage = json.loads(ok.headers["x-business-use-case-usage"])
    assert usage[PAGE_ID][0]["type"] == "pages"
    [item] = ok.json()["data"]
    assert item["id"] == post["id"] and re.match(rf"^{PAGE_ID}_\d+$", item["id"])
    assert GRAPH_TIME.match(item["created_time"]) and "message" not in item
    comments = item["comments"]["data"]
    assert [c["id"] for c in comments] == [comment["id"], reply["id"]]
    assert comments[0]["id"].startswith(post["id"].split("_")[1] + "_")
    assert "parent" not in comments[0]
    assert comments[1]["parent"]["id"] == comment["id"]
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 100
    assert "nonexisting field (nonsense)" in refused.json()["error"]["message"]
    assert no_token.json()["error"]["code"] == 190


def test_paging_next_urls_carry_the_token_and_facebook_sdk_follows_them(
    sim: SimulatorThread, page: Page, fb_control: FacebookControl
) -> None:
    made = [fb_control.page_post(f"post {n}") for n in range(7)]
    first = graph(sim, page, f"{PAGE_ID}/feed", limit="3").json()
    assert f"access_token={page.token}" in first["paging"]["next"]
    assert set(first["paging"]["cursors"]) == {"before", "after"}

    api = facebook.GraphAPI(access_token=page.token, session=RedirectSession(sim.base_url, 2.0))
    api.version = "v21.0"
    ids = [p["id"] for p in api.get_all_connections(PAGE_ID, "feed", limit=3)]

    assert ids == [p["id"] for p in reversed(made)]  # newest first


def test_the_sdks_default_version_is_refused(sim: SimulatorThread, page: Page) -> None:
    api = facebook.GraphAPI(access_token=page.token, session=RedirectSession(sim.base_url, 2.0))
    with pytest.raises(facebook.GraphAPIError, match="v2.8"):
        api.get_object("me")


def test_messenger_conversations_shape(sim: SimulatorThread, page: Page,
                                       fb_control: FacebookControl) -> None:
    incoming = fb_control.messenger("Salut")
    fb_control.messenger("Bonjour", from_page=True)
    fields = "participants,updated_time,messages{message,from,to,created_time,id}"

    [conversation] = graph(sim, page, f"{PAGE_ID}/conversations", platform="messenger",
                           fields=fields).json()["data"]

    assert conversation["id"] == incoming["conversation_id"]
    assert re.match(r"^t_\d+$", conversation["id"])
    assert {p["id"] for p in conversation["participants"]["data"]} == {FAN_ID, PAGE_ID}
    assert conversation["participants"]["data"][0]["email"] == f"{FAN_ID}@facebook.com"
    newest, oldest = conversation["messages"]["data"]
    assert (newest["message"], oldest["message"]) == ("Bonjour", "Salut")
    assert newest["from"]["id"] == PAGE_ID and newest["to"]["data"][0]["id"] == FAN_ID
    assert oldest["id"] == incoming["id"] and oldest["id"].startswith("m_")
    assert conversation["updated_time"] == newest["created_time"]


@pytest.mark.parametrize(("age", "messaging_type", "tag", "accepted"), [
    (23 * HOUR, "RESPONSE", None, True),
    (25 * HOUR, "RESPONSE", None, False),
    (25 * HOUR, "UPDATE", None, False),
    (25 * HOUR, "MESSAGE_TAG", "HUMAN_AGENT", True),
    (6 * DAY, "MESSAGE_TAG", "HUMAN_AGENT", True),
    (8 * DAY, "MESSAGE_TAG", "HUMAN_AGENT", False),
])
def test_the_send_api_windows(sim: SimulatorThread, page: Page, fb_control: FacebookControl,
                              age: float, messaging_type: str, tag: str | None,
                              accepted: bool) -> None:
    fb_control.messenger("hello?", back_seconds=age)
    params = {"recipient": json.dumps({"id": FAN_ID}), "message": json.dumps({"text": "hi"}),
              "messaging_type": messaging_type}
    if tag:
        params["tag"] = tag

    answer = graph(sim, page, f"{PAGE_ID}/messages", "POST", **params).json()

    if accepted:
        assert answer["recipient_id"] == FAN_ID and answer["message_id"].startswith("m_")
        assert fb_control.fb_sent()[0]["messaging_type"] == messaging_type
    else:
        assert answer["error"]["code"] == 10 and answer["error"]["error_subcode"] == 2018278
        assert answer["error"]["message"] == "(#10) This message is sent outside of allowed window."
        assert fb_control.fb_sent() == []


def test_a_private_reply_does_not_open_the_window(
    sim: SimulatorThread, page: Page, fb_control: FacebookControl
) -> None:
    post = fb_control.page_post(back_seconds=3 * DAY)
    comment = fb_control.comment(post["id"], "help", back_seconds=2 * DAY)
    recipient = json.dumps({"comment_id": comment["id"]})
    message = json.dumps({"text": "hi"})

    first = graph(sim, page, f"{PAGE_ID}/messages", "POST", recipient=recipient,
                  message=message).json()
    again = graph(sim, page, f"{PAGE_ID}/messages", "POST", recipient=recipient,
                  message=message).json()
    follow_up = graph(sim, page, f"{PAGE_ID}/messages", "POST", message=message,
                      recipient=json.dumps({"id": FAN_ID}), messaging_type="RESPONSE").json()

    assert set(first) == {"message_id"}  # no recipient_id: a comment is not a PSID
    assert again["error"]["code"] == 10900
    assert follow_up["error"]["code"] == 10  # only the person writing back opens it


def test_generated_traffic_is_deterministic_and_varied() -> None:
    def traffic(seed: int) -> list[str]:
        state = SimState(seed)
        state.facebook.add_page(PAGE_ID, "Acme")
        made = generate(state.facebook, PAGE_ID, 40, page_reply_share=0.2)
        return [m.text if isinstance(m, FbMessage) else m.message for m in made]

    assert traffic(3) == traffic(3)
    assert traffic(3) != traffic(4)

    state = SimState(11)
    world = state.facebook
    world.add_page(PAGE_ID, "Acme")
    made = generate(world, PAGE_ID, 300, visitor_post_share=0.1, page_reply_share=0.1)
    comments = [m for m in made if isinstance(m, Comment)]
    messages = [m for m in made if isinstance(m, FbMessage)]
    visitors = [m for m in made if isinstance(m, Post)]
    assert comments and messages and visitors
    assert {p.lang for p in world.people.values() if p.id != PAGE_ID} == {"de", "en"}
    assert any(c.parent_id for c in comments), "some comments continue a thread"
    assert any(c.author_id == PAGE_ID for c in comments), "the Page answers some"
    oldest_post = min(world.posts.values(), key=lambda p: p.created_at)
    assert any(c.post_id == oldest_post.id for c in comments), "comments on an old post"
    texts = " ".join(c.message for c in comments) + " ".join(m.text for m in messages)
    assert re.search(r"funeral|Beerdigung|insulin|Medikamente|Hausnotruf|care alarm", texts)
    assert any(len(world.messages_in(t.id)) > 1 for t in world.threads.values())


def test_the_demo_has_a_page_with_comments_and_messenger() -> None:
    state = demo_state(2, count=10, spread_seconds=3600, facebook_count=30)
    world = state.facebook
    assert world.pages[DEMO_PAGE_ID].token == DEMO_PAGE_TOKEN
    assert any(c.author_id != DEMO_PAGE_ID for c in world.comments.values())
    assert world.threads and state.tweets  # X is still there


def test_control_api_for_pages_and_traffic(sim: SimulatorThread,
                                           fb_control: FacebookControl) -> None:
    made = fb_control.post("pages", {"page_id": "104000000000777", "name": "Other",
                                     "page_token": "EAAother"})
    assert made["credentials"] == {"page_token": "EAAother", "page_id": "104000000000777"}
    listed = {p["page_id"]: p for p in fb_control.get("pages")["pages"]}
    assert listed["104000000000777"]["credentials"]["page_token"] == "EAAother"

    generated = fb_control.post("facebook/traffic", {"page_id": PAGE_ID, "count": 12,
                                                     "messenger_share": 0.5})
    kinds = {item["kind"] for item in generated["items"]}
    assert kinds <= {"post", "comment", "message"} and "message" in kinds
    more = fb_control.post("messenger", {"page_id": PAGE_ID, "count": 3})
    assert [item["kind"] for item in more["items"]] == ["message"] * 3
    bad = requests.post(f"{sim.base_url}/_sim/comments", json={"object_id": "nope",
                                                                "message": "x"}, timeout=5)
    assert bad.status_code == 400

    fb_control.post("reset", {})

    assert sim.state.facebook.comments == {} and sim.state.facebook.threads == {}
    assert "104000000000777" in {p["page_id"] for p in fb_control.get("pages")["pages"]}


def test_a_token_only_reads_its_own_page(sim: SimulatorThread, page: Page,
                                         fb_control: FacebookControl) -> None:
    other = sim.state.facebook.add_page("104000000000888", "Stranger", token="EAAstranger")
    post = sim.state.facebook.add_post(other.id, "theirs")
    assert graph(sim, page, f"{other.id}/feed").json()["error"]["code"] == 200
    assert graph(sim, page, f"{post.id}/comments").json()["error"]["code"] == 100
    reply = graph(sim, page, f"{post.id}/comments", "POST", message="hi").json()
    assert reply["error"]["code"] == 200
    with pytest.raises(GraphError):
        sim.state.facebook.add_comment("1_404", FAN_ID, "nowhere")


def test_enforced_limits_answer_with_graph_codes_and_a_wait(
    sim: SimulatorThread, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_api, "HOURLY_LIMITS", {"pages": 2, "messenger": 2})
    monkeypatch.setattr(sim.state, "enforce_rate_limits", True)
    fb = FacebookConnector(credentials=page.credentials(), api_base_url=sim.base_url)
    fb.fetch("comments", None)
    fb.fetch("comments", None)  # its answer said 100 %: kept, and the connector holds back
    with pytest.raises(RateLimited, match="at its limit"):
        fb.fetch("comments", None)

    # A connector that did not see that header calls anyway and is refused.
    fresh = FacebookConnector(credentials=page.credentials(), api_base_url=sim.base_url)
    with pytest.raises(RateLimited, match="code 32") as caught:
        fresh.fetch("comments", None)

    assert caught.value.reset_at is not None
    assert 3000 < caught.value.reset_at - time.time() <= 3660  # the hour's window, from Meta's wait
    assert [r["status"] for r in sim.state.requests_log()] == [200, 200, 400]
