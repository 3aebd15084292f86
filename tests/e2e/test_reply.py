"""Replying from the composer: to the platform, in the thread, drafts, and X's limit."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from connectors.x_text import weighted_length
from tests.e2e.support import Stack, wait_live, wait_until


def _thread_with_follow_up(stack: Stack, name: str) -> tuple[int, int]:
    """A customer's post and their follow-up in the same X thread: (conversation, newest)."""
    who = stack.customer(name)
    first = stack.mention(who, "the app crashes when I open settings")
    newest = stack.mention(who, "still crashing after the update", in_reply_to=first.id)
    conv = stack.conversation_of(first.id)
    assert stack.conversation_of(newest.id) == conv
    return conv, newest.id


def test_a_reply_reaches_the_platform_under_the_newest_customer_post(page: Any,
                                                                     stack: Stack) -> None:
    conv, newest = _thread_with_follow_up(stack, "Quinn Reply")
    page.goto(f"/conversations/{conv}")
    text = "Sorry about that, Quinn: a fix ships tomorrow. ^Alice"

    page.locator("#composer").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()

    mine = page.locator("#thread .msg.outbound")
    expect(mine).to_have_count(1)  # swapped into the thread by the reply itself
    expect(mine.locator(".msg-text")).to_have_text(text)
    expect(mine.locator(".msg-head")).to_contain_text("Alice Agent")
    expect(page.locator("#composer")).to_have_value("")
    assert page.evaluate("id => localStorage.getItem('draft-' + id)", conv) is None

    sent = wait_until(lambda: stack.sent_in_reply_to(newest), 10,
                      "the reply did not reach the simulator")
    assert [(s["kind"], s["text"]) for s in sent] == [("tweet", text)]


def test_the_reply_shows_as_sent_without_reload(page: Any, stack: Stack) -> None:
    conv, newest = _thread_with_follow_up(stack, "Rosa Sent")
    page.goto(f"/conversations/{conv}")
    wait_live(page)
    page.evaluate("window.__notReloaded = true")

    page.locator("#composer").fill("On it, Rosa.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#thread .msg.outbound .msg-text")).to_have_text("On it, Rosa.")
    wait_until(lambda: stack.sent_in_reply_to(newest), 10,
               "the reply did not reach the simulator")

    # The SSE stream checks every half second: a few seconds is plenty once it is sent.
    expect(page.locator("#thread .msg.outbound .delivery")).to_have_text("sent", timeout=3000)
    assert page.evaluate("window.__notReloaded") is True


def test_a_draft_survives_a_reload(page: Any, stack: Stack) -> None:
    who = stack.customer("Sven Draft")
    conv = stack.conversation_of(stack.mention(who, "where is my refund?").id)
    page.goto(f"/conversations/{conv}")

    page.locator("#composer").press_sequentially("Hi Sven, the refund")
    expect(page.locator("#composer-count")).to_have_text("19 / 280")
    page.reload()

    expect(page.locator("#composer")).to_have_value("Hi Sven, the refund")
    expect(page.locator("#composer-count")).to_have_text("19 / 280")


def test_an_over_long_public_reply_is_refused_and_not_sent(page: Any, stack: Stack) -> None:
    who = stack.customer("Tara Long")
    tweet = stack.mention(who, "tell me everything about the warranty")
    conv = stack.conversation_of(tweet.id)
    page.goto(f"/conversations/{conv}")
    text = ("The warranty covers " + "parts and labour for two years, " * 10).strip()
    assert len(text) > 280

    page.locator("#composer").fill(text)
    count = page.locator("#composer-count")
    expect(count).to_have_text(f"{len(text)} / 280")
    expect(count).to_have_class("count over")
    label = page.locator('label[for="composer"]')
    expect(label).to_have_text("Reply publicly on X")
    private = page.get_by_label("answer by direct message")  # a DM takes 10,000
    private.check()
    expect(count).to_have_text(f"{len(text)} / 10000")
    expect(count).not_to_have_class("count over")
    expect(label).to_have_text("Reply privately on X")
    private.uncheck()
    expect(count).to_have_class("count over")
    expect(label).to_have_text("Reply publicly on X")

    page.get_by_role("button", name="Send", exact=True).click()

    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_text(
        f"X counts this reply as {len(text)} characters; a post takes at most 280")
    expect(page.locator("#composer")).to_have_value(text)  # nothing the agent wrote is lost
    expect(page.locator("#thread .msg.outbound")).to_have_count(0)
    assert stack.outbound_texts(conv) == []
    assert stack.sent_in_reply_to(tweet.id) == []


def test_an_error_notice_goes_when_the_next_action_works(page: Any, stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Una Notice"), "hello?").id)
    page.goto(f"/conversations/{conv}")
    wait_live(page)
    page.locator("#composer").fill("x" * 281)
    page.get_by_role("button", name="Send", exact=True).click()
    notice = page.locator("#notice")
    expect(notice).to_be_visible()

    page.locator("#note").fill("asked for the order number")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#thread")).to_contain_text("asked for the order number")
    expect(notice).to_be_hidden(timeout=2000)  # not the 8 s an error stays on its own


def test_the_counter_weighs_a_public_x_post_as_the_server_does(page: Any, stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Wen Weights"), "count?").id)
    page.goto(f"/conversations/{conv}")
    composer, count = page.locator("#composer"), page.locator("#composer-count")
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    link = "https://example.com/orders/track?id=" + "7" * 60
    samples = [
        "日本語のテキストです。ありがとう",
        f"Thanks 👍🏽 {family} 🇯🇵 1️⃣ ©️ © …™",
        f"Track it here: {link}.",
        "(details: acme.com/help/returns-and-refunds-for-damaged-goods) or jane@example.com",
        "e\u0301t\u00e9 — ‘quoted’ ✈️ www.acme.io, see x.com/acmehelp!",
    ]
    for text in samples:
        composer.fill(text)
        expect(count).to_have_text(f"{weighted_length(text)} / 280")
    assert weighted_length(samples[0]) == 2 * len(samples[0])  # a real difference to show
    # A direct message is not weighted: characters again.
    page.locator("[data-private-switch]").check()
    composer.fill(samples[0])
    expect(count).to_have_text(re.compile(rf"^{len(samples[0])} / "))
