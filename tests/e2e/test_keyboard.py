"""Keyboard: moving through the list, opening, the reply box, help, canned responses."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.support import Stack


def test_j_k_move_the_selection_and_enter_opens(page: Any, stack: Stack) -> None:
    # At least three rows, whatever else the run left open.
    tweets = [stack.mention(stack.customer(f"Kim{n} Keys"), "hello?") for n in range(3)]
    for tweet in tweets:
        stack.conversation_of(tweet.id)
    page.goto("/inbox")
    rows = page.locator("#rows .row")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    expect(rows.nth(0).locator(".rowlink")).to_be_focused()
    ids = rows.evaluate_all("rs => rs.map(r => r.dataset.conversation)")
    assert len(ids) >= 3

    def selected() -> Any:
        return page.locator("#rows .row.selected")

    page.keyboard.press("j")
    expect(selected()).to_have_attribute("data-conversation", ids[1])
    page.keyboard.press("j")
    expect(selected()).to_have_attribute("data-conversation", ids[2])
    page.keyboard.press("k")
    expect(selected()).to_have_attribute("data-conversation", ids[1])
    expect(selected()).to_have_count(1)

    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{stack.base_url}/conversations/{ids[1]}")


def test_r_focuses_the_reply_and_question_mark_opens_the_help(page: Any, stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Lou Keys"), "hi").id)
    page.goto(f"/conversations/{conv}")
    composer = page.locator("#composer")
    expect(composer).not_to_be_focused()

    page.keyboard.press("r")
    expect(composer).to_be_focused()
    expect(composer).to_have_value("")  # the key itself is not typed
    page.keyboard.press("Escape")
    expect(composer).not_to_be_focused()

    page.keyboard.press("?")
    help_box = page.locator("#shortcuts")
    expect(help_box).to_be_visible()
    expect(help_box.get_by_role("heading")).to_have_text("Keyboard shortcuts")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()


def test_slash_offers_canned_responses_that_fill_placeholders(page: Any, stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Maria Keller"), "help").id)
    page.goto(f"/conversations/{conv}")
    composer, canned = page.locator("#composer"), page.locator("#canned")
    options = canned.locator("[data-canned]:visible")

    composer.press_sequentially("/")
    expect(canned).to_be_visible()
    expect(options).to_have_text(["/sorry · Sorry for the wait", "/thanks · Thanks, looking "
                                                                  "into it"])
    composer.press_sequentially("th")
    expect(options).to_have_text(["/thanks · Thanks, looking into it"])
    composer.press("Enter")
    expect(composer).to_have_value("Hi Maria, thanks for writing. Alice Agent")
    expect(canned).to_be_hidden()
    expect(composer).to_be_focused()

    composer.fill("")
    composer.press_sequentially("/")
    composer.press("ArrowDown")  # from /sorry to /thanks, and round again to /sorry
    composer.press("ArrowDown")
    expect(canned.locator("[aria-selected=true]")).to_have_text("/sorry · Sorry for the wait")
    canned.get_by_role("option", name="/sorry · Sorry for the wait").click()
    expect(composer).to_have_value("Sorry for the wait, Maria!")

    composer.fill("")
    composer.press("Escape")
    page.keyboard.press("/")  # outside the box: "/" opens it with the list
    expect(composer).to_be_focused()
    expect(composer).to_have_value("/")
    expect(options).to_have_count(2)


def test_slash_outside_the_box_keeps_the_draft(page: Any, stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Dora Draft"), "help").id)
    page.goto(f"/conversations/{conv}")
    composer, canned = page.locator("#composer"), page.locator("#canned")
    composer.fill("Dear Dora, ")
    composer.press("Escape")
    page.keyboard.press("/")
    expect(composer).to_be_focused()
    expect(canned).to_be_visible()
    expect(canned.locator("[data-canned]:visible")).to_have_count(2)
    expect(composer).to_have_value("Dear Dora, ")
    assert page.evaluate(f"localStorage.getItem('draft-{conv}')") == "Dear Dora, "

    composer.press("Enter")  # the first, /sorry, goes in where the cursor was
    expect(composer).to_have_value("Dear Dora, Sorry for the wait, Dora!")
    expect(canned).to_be_hidden()
    assert page.evaluate(f"localStorage.getItem('draft-{conv}')") == (
        "Dear Dora, Sorry for the wait, Dora!")
    assert page.locator("[data-canned-text]").input_value() == "Sorry for the wait, Dora!"

    # Escape closes the list and leaves the draft as it was.
    composer.press("Escape")
    page.keyboard.press("/")
    expect(canned).to_be_visible()
    composer.press("Escape")
    expect(canned).to_be_hidden()
    expect(composer).to_have_value("Dear Dora, Sorry for the wait, Dora!")


def test_a_and_e_take_and_resolve_the_selected_row_on_the_list(page: Any, stack: Stack) -> None:
    tweets = [stack.mention(stack.customer(f"Kai{n} Keys"), f"keyzebra {n}") for n in range(2)]
    convs = [str(stack.conversation_of(t.id)) for t in tweets]
    page.goto("/inbox?view=open&q=keyzebra&sort=newest")
    rows = page.locator("#rows .row")
    expect(rows).to_have_count(2)
    page.keyboard.press("j")
    second = rows.nth(1).get_attribute("data-conversation")
    first = rows.nth(0).get_attribute("data-conversation")
    assert {first, second} == set(convs)
    expect(page.locator("#rows .row.selected")).to_have_attribute("data-conversation", second)

    page.keyboard.press("a")
    expect(rows.nth(1).locator(".assignee")).to_have_text("Alice Agent")
    expect(rows.nth(0).locator(".assignee")).to_have_count(0)

    page.keyboard.press("e")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-conversation", first)  # resolved: gone


def test_a_search_asks_once_and_adds_one_history_entry(page: Any, stack: Stack) -> None:
    stack.conversation_of(stack.mention(stack.customer("Quinn Query"), "toner smudges").id)
    page.goto("/inbox")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "q=toner" in r.url else None)
    before = page.evaluate("history.length")

    page.get_by_label("Search").fill("toner")
    page.get_by_label("Search").press("Enter")

    expect(page).to_have_url(re.compile(r"q=toner"))
    expect(page.locator("#rows .row")).to_have_count(1)
    page.wait_for_timeout(300)  # a second request would have gone out by now
    assert len(asked) == 1, asked
    assert page.evaluate("history.length") == before + 1
    # A filter still applies as soon as it is picked, no Enter needed.
    page.locator("select[name=platform]").select_option("facebook")
    expect(page).to_have_url(re.compile(r"platform=facebook"))
    expect(page.locator("#rows .row")).to_have_count(0)
