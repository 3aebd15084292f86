"""One simulator on 127.0.0.1 for the whole run, reset before each test (brands and Pages
survive)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connectors.facebook import FacebookConnector
from connectors.simulator import SimulatorThread
from connectors.simulator.graph_state import Page
from connectors.simulator.state import Brand
from connectors.twitter import TwitterConnector

BRAND_ID = "1500000000000000001"
BRAND_USERNAME = "acme_support"
CUSTOMER_ID = "7000000000000000007"


class Control:
    """The simulator's /_sim/ API, as the app and other processes use it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = requests.post(f"{self.base_url}/_sim/{path}", json=body, timeout=5)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = requests.get(f"{self.base_url}/_sim/{path}", timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def mention(self, text: str, username: str = "jane", user_id: str = CUSTOMER_ID,
                in_reply_to: str | None = None) -> dict[str, Any]:
        body = {"brand_id": BRAND_ID, "text": text, "in_reply_to": in_reply_to,
                "author": {"id": user_id, "username": username, "name": username.title()}}
        tweet: dict[str, Any] = self.post("mentions", body)["tweets"][0]
        return tweet

    def dm(self, text: str, username: str = "jane", user_id: str = CUSTOMER_ID) -> dict[str, Any]:
        body = {"brand_id": BRAND_ID, "text": text,
                "sender": {"id": user_id, "username": username}}
        event: dict[str, Any] = self.post("dms", body)["events"][0]
        return event

    def dm_in_group(self, text: str, others: list[dict[str, str]], username: str = "jane",
                    user_id: str = CUSTOMER_ID) -> dict[str, Any]:
        """A DM in a new group of the sender, the brand and `others` ({id, username})."""
        body = {"brand_id": BRAND_ID, "text": text, "group": others,
                "sender": {"id": user_id, "username": username}}
        event: dict[str, Any] = self.post("dms", body)["events"][0]
        return event

    def fault(self, kind: str, **options: Any) -> None:
        self.post("faults", {"kind": kind, **options})

    def sent(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("sent")["sent"]
        return items

    def requests(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("requests")["requests"]
        return items


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorThread]:
    with SimulatorThread(seed=7) as running:
        running.state.add_brand(BRAND_ID, BRAND_USERNAME, name="Acme Support")
        yield running


@pytest.fixture
def sim(simulator: SimulatorThread) -> SimulatorThread:
    simulator.state.reset(seed=7)
    return simulator


@pytest.fixture
def control(sim: SimulatorThread) -> Control:
    return Control(sim.base_url)


@pytest.fixture
def brand(sim: SimulatorThread) -> Brand:
    return sim.state.brands[BRAND_ID]


@pytest.fixture
def x(sim: SimulatorThread, brand: Brand) -> TwitterConnector:
    """A connector with OAuth 1.0a user keys and a short timeout."""
    return TwitterConnector(credentials=brand.credentials(), account_external_id=BRAND_ID,
                            api_base_url=sim.base_url, timeout=2.0)


# -- Facebook -------------------------------------------------------------------------------

PAGE_ID = "104000000000042"
PAGE_NAME = "Acme"
FAN_ID = "5000000000000005"
FAN_NAME = "Jane Doe"
GRAPH = "/v21.0/"


class FacebookControl(Control):
    """The simulator's Facebook control endpoints (/_sim/posts, /comments, /messenger...)."""

    def page_post(self, message: str = "Spring sale!", back_seconds: float = 0) -> dict[str, Any]:
        post: dict[str, Any] = self.post("posts", {"page_id": PAGE_ID, "message": message,
                                                    "back_seconds": back_seconds})
        return post

    def visitor_post(self, message: str, name: str = FAN_NAME,
                     person_id: str = FAN_ID) -> dict[str, Any]:
        post: dict[str, Any] = self.post("posts", {"page_id": PAGE_ID, "message": message,
                                                    "author": {"name": name, "id": person_id}})
        return post

    def comment(self, object_id: str, message: str, name: str = FAN_NAME,
                person_id: str | None = FAN_ID, back_seconds: float = 0) -> dict[str, Any]:
        """A customer's comment (or reply, when object_id is a comment); person_id None:
        the Page itself, from Facebook's own app."""
        body: dict[str, Any] = {"object_id": object_id, "message": message,
                                "back_seconds": back_seconds}
        if person_id is not None:
            body["author"] = {"name": name, "id": person_id}
        comment: dict[str, Any] = self.post("comments", body)
        return comment

    def messenger(self, text: str, name: str = FAN_NAME, person_id: str = FAN_ID,
                  back_seconds: float = 0, from_page: bool = False) -> dict[str, Any]:
        who = {"name": name, "id": person_id}
        body = {"page_id": PAGE_ID, "text": text, "back_seconds": back_seconds,
                "from_page": from_page, ("to" if from_page else "sender"): who}
        message: dict[str, Any] = self.post("messenger", body)["items"][0]
        return message

    def fb_sent(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = f"?kind={kind}" if kind else ""
        items: list[dict[str, Any]] = self.get(f"facebook/sent{query}")["sent"]
        return items


@pytest.fixture
def page(sim: SimulatorThread) -> Page:
    """The test Page; Pages survive the reset, so it is added once per run."""
    existing = sim.state.facebook.pages.get(PAGE_ID)
    return existing or sim.state.facebook.add_page(PAGE_ID, PAGE_NAME, "acme")


@pytest.fixture
def fb_control(sim: SimulatorThread, page: Page) -> FacebookControl:
    return FacebookControl(sim.base_url)


@pytest.fixture
def fb(sim: SimulatorThread, page: Page) -> FacebookConnector:
    """A connector for the test Page with a short timeout."""
    return FacebookConnector(credentials=page.credentials(), account_external_id=PAGE_ID,
                             api_base_url=sim.base_url, timeout=2.0)
