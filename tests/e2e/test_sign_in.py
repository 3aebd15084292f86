"""Signing in through the real form."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.support import Browsers, Stack, sign_in


def test_wrong_password_stays_on_login_then_right_one_opens_the_inbox(
        browsers: Browsers, stack: Stack) -> None:
    page: Any = browsers.page()  # not signed in
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next=/inbox$"))

    sign_in(page, stack.agent.email, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("Email")).to_have_value(stack.agent.email)
    expect(page.get_by_label("Password")).to_have_value("")
    assert "sb_session" not in {c["name"] for c in page.context.cookies()}

    sign_in(page, stack.agent.email, stack.agent.password)
    expect(page).to_have_url(stack.base_url + "/inbox")
    expect(page.locator("header.top .me")).to_contain_text("Alice Agent")
    expect(page.get_by_role("alert")).to_have_count(0)
    session = next(c for c in page.context.cookies() if c["name"] == "sb_session")
    assert session["httpOnly"]
