"""What the browser tests share: the running stack, customer traffic, and page helpers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.inbox.models import Message
from connectors.simulator.state import DmEvent, SimState, Tweet, User

TIMEOUT_MS = 10_000  # the longest any single UI expectation waits
BRAND_ID = "4200000000000000001"
BRAND_USERNAME = "acmehelp"
ACCOUNT_NAME = "Acme Help (X)"
TEAM_NAME = "Second level"
PASSWORD = "correct horse battery"

# Counts what htmx swapped into each target, and whether the live stream is open, so a
# test can wait for "the action's own response and the live refresh it caused" exactly.
PAGE_PROBE = """
window.__e2e = { swaps: {}, sseOpen: 0 };
document.addEventListener("htmx:afterSettle", (e) => {
  const id = (e.detail.target && e.detail.target.id) || "?";
  window.__e2e.swaps[id] = (window.__e2e.swaps[id] || 0) + 1;
});
document.addEventListener("htmx:sseOpen", () => { window.__e2e.sseOpen += 1; });
"""


@dataclass(frozen=True)
class Staff:
    email: str
    name: str
    role: str
    id: int
    password: str = PASSWORD


@dataclass
class Stack:
    """The running server, the simulator behind it, and helpers to make customer traffic."""

    base_url: str
    sim: SimState
    factory: sessionmaker[Session]
    agent: Staff
    supervisor: Staff
    team_id: int
    log_path: Path
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def customer(self, name: str) -> User:
        """A new X user with a unique id and handle: tests never share customers."""
        n = next(self._ids)
        first = "".join(c for c in name.split()[0].lower() if c.isalnum())[:8] or "user"
        return self.sim.add_user(str(7_100_000_000 + n), f"{first}{n}", name, followers=n)

    def mention(self, who: User, text: str, in_reply_to: int | None = None) -> Tweet:
        """A public post mentioning the brand: it lands in the mentions stream."""
        return self.sim.add_tweet(who.id, f"@{BRAND_USERNAME} {text}", in_reply_to)

    def dm(self, who: User, text: str) -> DmEvent:
        return self.sim.add_dm(who.id, BRAND_ID, text)

    def conversation_of(self, external_id: int | str, timeout: float = 10.0) -> int:
        """The conversation id, once the server's worker has ingested this platform message."""
        found = wait_until(lambda: self._scalar(select(Message.conversation_id).where(
            Message.platform == "x", Message.external_id == str(external_id))),
            timeout, f"message {external_id} was not ingested")
        return int(found)

    def outbound_texts(self, conv_id: int) -> list[str]:
        with self.factory() as session:
            return list(session.scalars(select(Message.text).where(
                Message.conversation_id == conv_id, Message.direction == "outbound")))

    def sent_in_reply_to(self, tweet_id: int) -> list[dict[str, Any]]:
        return [s for s in self.sim.sent_items(BRAND_ID) if s.get("in_reply_to") == str(tweet_id)]

    def _scalar(self, query: Any) -> Any:
        with self.factory() as session:
            return session.scalar(query)


def wait_until(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `probe` (cheap, local) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(0.05)


def sign_in(page: Any, email: str, password: str) -> None:
    """Fill and submit the real sign-in form on the current page."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def wait_live(page: Any) -> None:
    """Until the page's Server-Sent Events stream is open."""
    page.wait_for_function("window.__e2e && window.__e2e.sseOpen > 0", timeout=TIMEOUT_MS)


def swaps(page: Any, target: str) -> int:
    return int(page.evaluate("t => window.__e2e.swaps[t] || 0", target))


def act(page: Any, action: Callable[[], None], target: str = "details",
        count: int = 2) -> None:
    """Run an action that posts an htmx form swapping into #target, and wait until both its
    own response and the live refresh it triggers (SSE "conversation") are swapped in.

    Without waiting for the second swap, a form filled next could be replaced under the
    test's fingers by the refresh.
    """
    before = swaps(page, target)
    action()
    page.wait_for_function("([t, n]) => (window.__e2e.swaps[t] || 0) >= n",
                           arg=[target, before + count], timeout=TIMEOUT_MS)


def no_horizontal_scroll(page: Any) -> tuple[bool, int, int]:
    width, inner = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    return width <= inner + 1, width, inner


@dataclass
class Browsers:
    """New browser contexts on the stack, optionally signed in as one of the staff."""

    browser: Any
    stack: Stack
    states: dict[str, Any]
    opened: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self, staff: Staff | None = None, **options: Any) -> Any:
        state = None
        if staff is not None:
            if staff.email not in self.states:
                self.states[staff.email] = self._signed_in_state(staff)
            state = self.states[staff.email]
        context = self.browser.new_context(base_url=self.stack.base_url, storage_state=state,
                                           **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(PAGE_PROBE)
        self.opened.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    def _signed_in_state(self, staff: Staff) -> Any:
        context = self.browser.new_context(base_url=self.stack.base_url)
        try:
            page = context.new_page()
            page.goto("/login")
            sign_in(page, staff.email, staff.password)
            page.wait_for_url("**/inbox")
            return context.storage_state()
        finally:
            context.close()

    def close(self) -> None:
        for context in self.opened:
            context.close()
        self.opened.clear()
