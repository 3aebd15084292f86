"""On a phone (390 px wide) the inbox and a conversation fit: no sideways scrolling."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.support import Browsers, Stack, no_horizontal_scroll

# Not is_mobile: mobile emulation zooms out to fit wide content, so innerWidth would grow
# with the overflow and hide it. A plain 390 px viewport keeps innerWidth at 390.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3}
LONG_WORD = "https://example.com/orders/" + "A1B2C3" * 15


def _check_both_views(browsers: Browsers, stack: Stack, name: str) -> None:
    who = stack.customer(name)
    tweet = stack.mention(who, f"see {LONG_WORD} please")
    dm = stack.dm(who, "and a DM, so the panel lists another conversation")
    conv = stack.conversation_of(tweet.id)
    stack.conversation_of(dm.id)
    page: Any = browsers.page(stack.agent, **PHONE)

    page.goto("/inbox")
    expect(page.locator(f'#rows .row[data-conversation="{conv}"]')).to_be_visible()
    fits, width, inner = no_horizontal_scroll(page)
    assert inner == 390
    assert fits, f"the inbox list is {width}px wide on a {inner}px screen"

    page.goto(f"/conversations/{conv}")
    expect(page.locator("#thread .msg.inbound .msg-text")).to_contain_text(LONG_WORD)
    expect(page.locator("#details .others li")).to_have_count(1)
    expect(page.locator("#composer")).to_be_visible()
    fits, width, inner = no_horizontal_scroll(page)
    assert fits, f"the conversation is {width}px wide on a {inner}px screen"


def test_inbox_and_conversation_fit_a_phone_screen(browsers: Browsers, stack: Stack) -> None:
    # A long unbroken URL in the message is the usual culprit: it must wrap.
    _check_both_views(browsers, stack, "Wanda Phone")


def test_a_long_unbroken_display_name_fits_a_phone_screen(browsers: Browsers,
                                                          stack: Stack) -> None:
    # X allows 50 characters for a display name, spaces optional.
    _check_both_views(browsers, stack, "Wanda" + "Averyverylongdisplaynamewithoutanyspaces1")
