"""Text from the platforms is untrusted: it shows as text, never as markup or script."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.support import BRAND_USERNAME, Stack

PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script>"
NAME = "<b>Eve</b><script>alert(3)</script>"


def test_html_and_script_from_the_platform_render_as_literal_text(page: Any,
                                                                  stack: Stack) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    who = stack.customer(NAME)
    dm, tweet = stack.dm(who, f"DM {PAYLOAD}"), stack.mention(who, PAYLOAD)
    other, conv = stack.conversation_of(dm.id), stack.conversation_of(tweet.id)
    injected = "img[src=x], script:not([src]), b"

    page.goto("/inbox")
    row = page.locator(f'#rows .row[data-conversation="{conv}"]')
    expect(row.locator(".snippet")).to_have_text(f"@{BRAND_USERNAME} {PAYLOAD}")
    expect(row.locator(".who")).to_contain_text(NAME)
    assert page.locator("#main").locator(injected).count() == 0

    page.goto(f"/conversations/{conv}")
    expect(page).to_have_title(f"{NAME} · Switchboard")
    expect(page.locator("#thread .msg.inbound .msg-text")).to_have_text(
        f"@{BRAND_USERNAME} {PAYLOAD}")
    expect(page.locator("#thread .msg.inbound .msg-head strong")).to_have_text(NAME)
    expect(page.locator(".conv-head h1")).to_contain_text(NAME)
    expect(page.locator("#details .contact strong")).to_have_text(NAME)
    others = page.locator("#details .others li")
    expect(others.get_by_role("link")).to_have_attribute("href", f"/conversations/{other}")
    expect(others.locator(".snippet")).to_have_text(f"DM {PAYLOAD}")
    assert page.locator("#main").locator(injected).count() == 0
    # The page's own scripts are the only ones: three, all with a src.
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0

    page.locator("#composer").fill("Hello")  # an interaction gives any injected handler a turn
    page.reload()
    expect(page.locator("#composer")).to_have_value("Hello")
    assert dialogs == []
