"""Every Graph failure reaches the worker as one of the four error classes.

facebook-sdk ignores the HTTP status and raises only on an `error` key, so each case here is
a real answer from the simulator that the connector must classify itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from connectors.base import (
    AuthExpired,
    ConnectorError,
    OutgoingReply,
    Permanent,
    RateLimited,
    ThreadKind,
    Transient,
)
from connectors.facebook import FacebookConnector
from connectors.simulator import SimulatorThread
from connectors.simulator.graph_state import Page
from tests.connectors.conftest import FAN_ID, GRAPH, PAGE_ID, FacebookControl

HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"

# (fault options, expected class, text the message must contain)
CASES: dict[str, tuple[dict[str, Any], type[ConnectorError], str]] = {
    "rate limit 4": ({"kind": "rate_limit", "code": 4}, RateLimited, "code 4"),
    "rate limit 17": ({"kind": "rate_limit", "code": 17}, RateLimited, "code 17"),
    "rate limit 32": ({"kind": "rate_limit", "code": 32}, RateLimited, "code 32"),
    "rate limit 613": ({"kind": "rate_limit", "code": 613}, RateLimited, "code 613"),
    "unknown error 1": ({"kind": "graph_error", "code": 1, "status": 500}, Transient, "code 1"),
    "service error 2": ({"kind": "server_error"}, Transient, "code 2"),
    "expired 190/463": ({"kind": "auth_expired"}, AuthExpired, "subcode 463"),
    "190/458 app removed": ({"kind": "graph_error", "code": 190, "subcode": 458}, AuthExpired,
                            "subcode 458"),
    "190/460 password": ({"kind": "graph_error", "code": 190, "subcode": 460}, AuthExpired,
                         "subcode 460"),
    "190/467 invalid": ({"kind": "graph_error", "code": 190, "subcode": 467}, AuthExpired,
                        "subcode 467"),
    "190 no subcode": ({"kind": "graph_error", "code": 190, "subcode": None,
                        "message": "Invalid OAuth access token."}, AuthExpired, "Invalid OAuth"),
    "permission 10": ({"kind": "graph_error", "code": 10}, AuthExpired, "code 10"),
    "permission 200": ({"kind": "graph_error", "code": 200}, AuthExpired, "pages_messaging"),
    "invalid parameter 100": ({"kind": "graph_error", "code": 100}, Permanent, "code 100"),
    "HTTP 500 error body": ({"kind": "graph_error", "code": 100, "status": 500}, Transient,
                            "code 100"),
    "HTTP 502 no error": ({"kind": "canned", "status": 502, "body": {"data": []}}, Transient,
                          "HTTP 502"),
    "HTTP 503 HTML": ({"kind": "canned", "status": 503, "body": HTML,
                       "content_type": "text/html"}, Transient, "not a Graph answer"),
    "non-JSON on 200": ({"kind": "canned", "body": HTML, "content_type": "text/html"}, Transient,
                        "text/html"),
    "no Content-Type": ({"kind": "canned", "body": {"data": []}, "content_type": ""}, Transient,
                        "unreadable"),
    "cut-off JSON": ({"kind": "malformed"}, Transient, "unreadable"),
    "error on HTTP 200": ({"kind": "graph_error", "code": 100, "status": 200}, Permanent,
                          "code 100"),
    "expired on HTTP 200": ({"kind": "graph_error", "code": 190, "status": 200}, AuthExpired,
                            "code 190"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_error_lands_in_its_class(fb: FacebookConnector, fb_control: FacebookControl,
                                       case: str) -> None:
    options, expected, text = CASES[case]
    fb_control.post("faults", {"path_prefix": GRAPH, **options})
    with pytest.raises(expected) as caught:
        fb.fetch("comments", None)
    assert type(caught.value) is expected and text in str(caught.value)


Call = Callable[[FacebookConnector, FacebookControl], object]


def _send_comment(fb: FacebookConnector, control: FacebookControl) -> object:
    question = control.comment(control.page_post()["id"], "hi")
    return fb.send(OutgoingReply(ThreadKind.FB_COMMENT, question["id"], "hello"))


def _send_message(fb: FacebookConnector, control: FacebookControl) -> object:
    incoming = control.messenger("hi")
    return fb.send(OutgoingReply(ThreadKind.FB_MESSENGER, incoming["conversation_id"], "hello",
                                 recipient_id=FAN_ID))


CALLS: dict[str, tuple[str, Call]] = {
    "comments": ("feed", lambda fb, _: fb.fetch("comments", None)),
    "messenger": ("conversations", lambda fb, _: fb.fetch("messenger", None)),
    "verify": ("me", lambda fb, _: fb.verify()),
    "comment reply": ("comments", _send_comment),
    "messenger reply": ("messages", _send_message),
}


@pytest.fixture(params=sorted(CALLS))
def call(request: pytest.FixtureRequest) -> tuple[str, Call]:
    return CALLS[request.param]


def _prefix(edge: str) -> str:
    """Setting up a send goes through /_sim/, so a fault on all of Graph hits the call itself."""
    return f"{GRAPH}me" if edge == "me" else GRAPH


@pytest.mark.parametrize(("code", "reset_in", "wait"), [(4, 120, 120), (613, 600, 600)])
def test_rate_limits_wait_for_the_time_meta_gives(
    fb: FacebookConnector, fb_control: FacebookControl, call: tuple[str, Call], code: int,
    reset_in: int, wait: int
) -> None:
    edge, action = call
    fb_control.fault("rate_limit", path_prefix=_prefix(edge), code=code, reset_in=reset_in)
    with pytest.raises(RateLimited) as caught:
        action(fb, fb_control)
    assert caught.value.reset_at is not None
    assert abs(caught.value.reset_at - (time.time() + wait)) < 5


def test_without_a_usage_header_the_wait_is_a_default(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    fb_control.fault("graph_error", path_prefix=GRAPH, code=32)
    with pytest.raises(RateLimited) as caught:
        fb.fetch("messenger", None)
    assert caught.value.reset_at is not None
    assert 60 <= caught.value.reset_at - time.time() <= 3600


def test_after_a_rate_limit_no_call_is_made_until_the_reset(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    fb_control.fault("rate_limit", path_prefix=GRAPH, code=4, reset_in=60)
    with pytest.raises(RateLimited):
        fb.fetch("comments", None)
    before = fb_control.requests()
    with pytest.raises(RateLimited):
        fb.fetch("messenger", None)
    assert fb_control.requests() == before


def test_a_send_that_went_through_at_full_usage_returns_its_id(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    incoming = fb_control.messenger("hi")
    fb_control.fault("usage", path_prefix=f"{GRAPH}{PAGE_ID}/messages", usage=100)

    sent = fb.send(OutgoingReply(ThreadKind.FB_MESSENGER, incoming["conversation_id"], "hello",
                                 recipient_id=FAN_ID))

    assert [item["id"] for item in fb_control.fb_sent()] == [sent]
    with pytest.raises(RateLimited):  # the next call waits, without a request
        fb.fetch("messenger", None)
    assert fb_control.requests()[-1]["method"] == "POST"


def test_usage_below_100_percent_is_fine(fb: FacebookConnector,
                                         fb_control: FacebookControl) -> None:
    fb_control.fault("usage", path_prefix=GRAPH, usage=99)
    assert fb.fetch("comments", None).messages == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient_on_every_call(fb: FacebookConnector, fb_control: FacebookControl,
                                        call: tuple[str, Call], status: int) -> None:
    edge, action = call
    fb_control.fault("server_error", path_prefix=_prefix(edge), status=status)
    with pytest.raises(Transient):
        action(fb, fb_control)


def test_an_expired_token_is_auth_expired_on_every_call(
    fb: FacebookConnector, fb_control: FacebookControl, call: tuple[str, Call]
) -> None:
    edge, action = call
    fb_control.fault("auth_expired", path_prefix=_prefix(edge))
    with pytest.raises(AuthExpired, match="Session has expired"):
        action(fb, fb_control)


def test_a_timeout_is_transient(sim: SimulatorThread, page: Page, fb_control: FacebookControl,
                                call: tuple[str, Call]) -> None:
    fb = FacebookConnector(credentials=page.credentials(), account_external_id=PAGE_ID,
                           api_base_url=sim.base_url, timeout=0.2)
    edge, action = call
    fb_control.fault("timeout", path_prefix=_prefix(edge), delay=0.5)
    started = time.monotonic()
    with pytest.raises(Transient, match="Timeout"):
        action(fb, fb_control)
    assert time.monotonic() - started < 2


def test_an_unknown_token_is_auth_expired(sim: SimulatorThread) -> None:
    fb = FacebookConnector(credentials={"page_token": "EAArevoked"}, account_external_id=PAGE_ID,
                           api_base_url=sim.base_url)
    with pytest.raises(AuthExpired, match="code 190"):
        fb.fetch("comments", None)


def test_a_refused_connection_is_transient(page: Page) -> None:
    fb = FacebookConnector(credentials=page.credentials(), api_base_url="http://127.0.0.1:9",
                           timeout=0.5)
    with pytest.raises(Transient, match="ConnectionError"):
        fb.fetch("comments", None)


def test_code_10_outside_the_window_on_a_send_is_permanent(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    incoming = fb_control.messenger("hi")
    fb_control.fault("graph_error", path_prefix=GRAPH, method="POST", code=10, subcode=2018278,
                     message="(#10) This message is sent outside of allowed window.")
    with pytest.raises(Permanent, match="within 7 days"):
        fb.send(OutgoingReply(ThreadKind.FB_MESSENGER, incoming["conversation_id"], "hi",
                              recipient_id=FAN_ID))


def test_a_confirmation_without_an_id_is_transient(
    fb: FacebookConnector, fb_control: FacebookControl
) -> None:
    """Maybe posted, maybe not: the worker must reconcile with find_sent, not re-send."""
    fb_control.fault("canned", path_prefix=GRAPH, method="POST", body={"success": True})
    with pytest.raises(Transient, match="without an id"):
        _send_comment(fb, fb_control)


def test_service_resumes_after_the_fault(fb: FacebookConnector,
                                         fb_control: FacebookControl) -> None:
    fb_control.messenger("hi")
    fb_control.fault("server_error", path_prefix=GRAPH, count=2)
    for _ in range(2):
        with pytest.raises(ConnectorError):
            fb.fetch("messenger", None)
    assert len(fb.fetch("messenger", None).messages) == 1
