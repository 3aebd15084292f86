"""Every platform failure reaches the worker as one of the four error classes."""

from __future__ import annotations

import time
from collections.abc import Callable

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
from connectors.simulator import SimulatorThread
from connectors.simulator.state import Brand
from connectors.twitter import TwitterConnector
from tests.connectors.conftest import BRAND_ID, Control

Call = Callable[[TwitterConnector], object]
CALLS: dict[str, tuple[str, Call]] = {
    "mentions": ("/2/users/", lambda x: x.fetch("mentions", None)),
    "own_tweets": ("/2/users/", lambda x: x.fetch("own_tweets", None)),
    "dms": ("/2/dm_events", lambda x: x.fetch("dms", None)),
    "verify": ("/2/users/me", lambda x: x.verify()),
    "post": ("/2/tweets", lambda x: x.send(
        OutgoingReply(ThreadKind.X_MENTION, "1", "hi", in_reply_to="1"))),
    "dm": ("/2/dm_conversations/", lambda x: x.send(
        OutgoingReply(ThreadKind.X_DM, "", "hi", recipient_id="1"))),
}


@pytest.fixture(params=sorted(CALLS))
def call(request: pytest.FixtureRequest) -> tuple[str, Call]:
    return CALLS[request.param]


def test_429_is_rate_limited_until_the_reset_in_the_header(
    x: TwitterConnector, control: Control, call: tuple[str, Call]
) -> None:
    prefix, action = call
    control.fault("rate_limit", path_prefix=prefix, reset_in=120)
    with pytest.raises(RateLimited) as caught:
        action(x)
    assert caught.value.reset_at is not None
    assert abs(caught.value.reset_at - (time.time() + 120)) < 5


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(x: TwitterConnector, control: Control, status: int,
                          call: tuple[str, Call]) -> None:
    prefix, action = call
    control.fault("server_error", path_prefix=prefix, status=status)
    with pytest.raises(Transient, match=str(status)):
        action(x)


def test_a_timeout_is_transient(sim: SimulatorThread, brand: Brand, control: Control,
                                call: tuple[str, Call]) -> None:
    x = TwitterConnector(credentials=brand.credentials(), account_external_id=BRAND_ID,
                         api_base_url=sim.base_url, timeout=0.2)
    prefix, action = call
    control.fault("timeout", path_prefix=prefix, delay=0.5)
    started = time.monotonic()
    with pytest.raises(Transient, match="Timeout"):
        action(x)
    assert time.monotonic() - started < 2


def test_a_malformed_body_is_transient(x: TwitterConnector, control: Control,
                                       call: tuple[str, Call]) -> None:
    prefix, action = call
    control.fault("malformed", path_prefix=prefix)
    with pytest.raises(Transient):
        action(x)


def test_an_expired_token_is_auth_expired(x: TwitterConnector, control: Control,
                                          call: tuple[str, Call]) -> None:
    prefix, action = call
    control.fault("auth_expired", path_prefix=prefix)
    with pytest.raises(AuthExpired, match="401"):
        action(x)


def test_an_unknown_token_is_auth_expired(sim: SimulatorThread) -> None:
    credentials = {"consumer_key": "k", "consumer_secret": "s",
                   "access_token": f"{BRAND_ID}-revoked", "access_token_secret": "t"}
    x = TwitterConnector(credentials=credentials, api_base_url=sim.base_url)
    with pytest.raises(AuthExpired):
        x.fetch("mentions", None)


def test_a_refused_connection_is_transient(brand: Brand) -> None:
    x = TwitterConnector(credentials=brand.credentials(), account_external_id=BRAND_ID,
                         api_base_url="http://127.0.0.1:9", timeout=0.5)
    with pytest.raises(Transient, match="ConnectionError"):
        x.fetch("mentions", None)


@pytest.mark.parametrize("status", [400, 403, 404, 409])
def test_client_errors_are_permanent(x: TwitterConnector, control: Control, status: int) -> None:
    control.fault("canned", path_prefix="/2/users/", status=status,
                  body={"title": "Nope", "type": "about:blank", "status": status, "detail": "no"})
    with pytest.raises(Permanent, match=str(status)):
        x.fetch("mentions", None)


@pytest.mark.parametrize("body", [
    {"errors": [{"code": 93, "message": "This application is not allowed to access or "
                                        "delete your direct messages."}]},
    {"title": "Forbidden", "status": 403, "detail": "no",
     "type": "https://api.x.com/2/problems/client-forbidden"},
    {"title": "Unsupported Authentication", "status": 403, "detail": "app-only",
     "type": "https://api.x.com/2/problems/unsupported-authentication"},
])
def test_a_token_without_the_permission_says_to_reconnect(
        x: TwitterConnector, control: Control, body: dict[str, object]) -> None:
    control.fault("canned", path_prefix="/2/dm_events", status=403, body=body)
    with pytest.raises(Permanent, match="reconnect it with the permissions"):
        x.fetch("dms", None)


@pytest.mark.parametrize("body", [[1, 2], "text", {"data": "not a list"}])
def test_a_body_of_the_wrong_shape_is_transient(x: TwitterConnector, control: Control,
                                                body: object) -> None:
    control.fault("canned", path_prefix="/2/users/", body=body)
    with pytest.raises(Transient):
        x.fetch("mentions", None)


def test_service_resumes_after_the_fault(x: TwitterConnector, control: Control) -> None:
    control.mention("hi")
    control.fault("server_error", path_prefix="/2/users/", count=2)
    for _ in range(2):
        with pytest.raises(ConnectorError):
            x.fetch("mentions", None)
    assert len(x.fetch("mentions", None).messages) == 1
