"""What arrives while the inbox is open: new mentions, the contact's other conversations,
and colleagues on the same conversation (viewing, typing)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from app.inbox import actions
from app.inbox.models import Conversation
from tests.e2e.support import ACCOUNT_NAME, Browsers, Stack, wait_live


def test_a_new_mention_appears_in_the_open_inbox_without_reload(page: Any,
                                                                 stack: Stack) -> None:
    page.goto("/inbox")
    wait_live(page)
    page.evaluate("window.__notReloaded = true")
    who = stack.customer("Nora Live")

    tweet = stack.mention(who, "my order 7781 never arrived, can someone look?")

    row = page.locator("#rows .row", has_text="my order 7781 never arrived")
    expect(row).to_be_visible()
    conv_id = stack.conversation_of(tweet.id)
    expect(row).to_have_attribute("data-conversation", str(conv_id))
    expect(row).to_have_class(re.compile(r"\bunread\b"))
    expect(row.locator(".who")).to_contain_text(f"Nora Live @{who.username}")
    expect(row.locator(".channel")).to_have_text("X")
    assert page.evaluate("window.__notReloaded") is True, "the page was reloaded"


def test_the_contacts_other_conversation_is_shown(page: Any, stack: Stack) -> None:
    who = stack.customer("Omar Twochannels")
    dm = stack.dm(who, "Hi, I was charged twice for March")
    tweet = stack.mention(who, "no answer to my DM yet")
    dm_conv, conv = stack.conversation_of(dm.id), stack.conversation_of(tweet.id)
    assert conv != dm_conv

    page.goto(f"/conversations/{conv}")
    others = page.locator("#details .contact .others li")
    expect(others).to_have_count(1)
    link = others.get_by_role("link")
    expect(link).to_have_text(f"{ACCOUNT_NAME} · x dm · open")
    expect(link).to_have_attribute("href", f"/conversations/{dm_conv}")
    expect(others.locator(".snippet")).to_have_text("Hi, I was charged twice for March")

    link.click()  # and back the other way: the DM lists the public thread
    expect(page).to_have_url(f"{stack.base_url}/conversations/{dm_conv}")
    expect(page.locator("#thread .msg.inbound .msg-text")).to_have_text(
        "Hi, I was charged twice for March")
    back = page.locator("#details .contact .others li")
    expect(back).to_have_count(1)
    expect(back.get_by_role("link")).to_have_text(f"{ACCOUNT_NAME} · x mention · open")


def test_a_colleague_sees_who_is_viewing_and_typing(browsers: Browsers, stack: Stack) -> None:
    who = stack.customer("Pia Presence")
    conv = stack.conversation_of(stack.mention(who, "is anyone there?").id)
    alice = browsers.page(stack.agent)
    sam = browsers.page(stack.supervisor)

    alice.goto(f"/conversations/{conv}")
    wait_live(alice)
    sam.goto(f"/conversations/{conv}")
    expect(sam.locator("#presence")).to_have_text("Alice Agent is viewing")
    expect(alice.locator("#presence")).to_have_text("Sam Supervisor is viewing")

    alice.locator("#composer").press_sequentially("Hello Pia")
    expect(sam.locator("#presence .viewer.typing")).to_have_text(
        "Alice Agent is typing a reply…")
    expect(alice.locator("#presence")).to_have_text("Sam Supervisor is viewing")

    alice.locator("#composer").press("Escape")  # leaving the box ends "typing" at once
    expect(sam.locator("#presence")).to_have_text("Alice Agent is viewing")
    expect(sam.locator("#presence .typing")).to_have_count(0)

    alice.context.close()  # and leaving the page ends "viewing"
    expect(sam.locator("#presence .viewer")).to_have_count(0)


def test_back_to_the_inbox_shows_the_list_as_it_is_now(page: Any, stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Bea Back"), "anyone?").id)
    page.goto("/inbox")
    row = page.locator(f'#rows .row[data-conversation="{conv}"]')
    expect(row).to_have_class(re.compile(r"\bunread\b"))
    row.locator(".rowlink").click()
    expect(page).to_have_url(f"{stack.base_url}/conversations/{conv}")
    page.locator("#details").get_by_role("button", name="Take it").click()
    expect(page.locator("#details [data-assignee]")).to_have_text("Alice Agent")

    page.go_back()  # from the back/forward cache or the HTTP cache: the list is refreshed
    expect(page).to_have_url(f"{stack.base_url}/inbox")
    expect(row).not_to_have_class(re.compile(r"\bunread\b"))
    expect(row.locator(".assignee")).to_have_text("Alice Agent")


def test_the_view_counts_follow_a_new_mention(page: Any, stack: Stack) -> None:
    page.goto("/inbox")
    wait_live(page)
    count = page.locator('[data-view-count="open"]')
    before = int(count.inner_text())

    stack.conversation_of(stack.mention(stack.customer("Cora Count"), "counting on you").id)

    expect(page.locator("#rows .row", has_text="counting on you")).to_be_visible()
    expect(count).to_have_text(str(before + 1))


def test_a_live_refresh_keeps_the_loaded_rows_and_the_selection(page: Any,
                                                                 stack: Stack) -> None:
    tweets = [stack.mention(stack.customer(f"Lena{n} Loaded"), f"zebraload question {n}")
              for n in range(52)]
    for tweet in tweets:
        stack.conversation_of(tweet.id)
    try:
        _keeps_loaded_rows(page, stack)
    finally:  # other tests expect their new conversation on the first page of All open
        with stack.factory() as session:
            for conv in session.scalars(select(Conversation).where(
                    Conversation.last_message_text.contains("zebraload"))):  # type: ignore[union-attr]
                actions.resolve(session, conv, by=None)
            session.commit()


def _keeps_loaded_rows(page: Any, stack: Stack) -> None:
    page.goto("/inbox?view=open&q=zebraload&sort=newest")
    wait_live(page)
    rows = page.locator("#rows .row")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Load more").click()
    expect(rows).to_have_count(52)
    for _ in range(45):
        page.keyboard.press("j")
    chosen = rows.nth(45).get_attribute("data-conversation")
    expect(page.locator("#rows .row.selected")).to_have_attribute("data-conversation", chosen)

    stack.mention(stack.customer("Lena New"), "zebraload newest question")

    expect(rows.first).to_contain_text("zebraload newest question")
    expect(rows).to_have_count(52)
    expect(page.locator("#rows .row.selected")).to_have_attribute("data-conversation", chosen)


def test_sla_badges_count_down_and_turn_at_risk_then_breached(page: Any) -> None:
    page.clock.install()
    page.goto("/inbox")
    wait_live(page)
    # A badge as the server writes it: due in 26 hours, at risk in 2.
    page.evaluate("""() => {
      const iso = (ms) => new Date(Date.now() + ms).toISOString();
      const b = document.createElement("span");
      b.id = "test-sla"; b.className = "sla sla-ok"; b.textContent = "SLA 1560m left";
      b.dataset.slaDue = iso((26 * 3600 + 45) * 1000);
      b.dataset.slaRisk = iso(2 * 3600 * 1000);
      document.querySelector("#rows").before(b);
    }""")
    badge = page.locator("#test-sla")

    page.clock.fast_forward(30_000)
    expect(badge).to_have_text("SLA 1d 2h left")
    expect(badge).to_have_class("sla sla-ok")
    page.clock.fast_forward("02:00:00")
    expect(badge).to_have_text("SLA at risk · 1d 0h left")
    expect(badge).to_have_class("sla sla-at_risk")
    page.clock.fast_forward("24:01:00")
    expect(badge).to_have_text("SLA breached")
    expect(badge).to_have_class("sla sla-breached")
