"""What an agent does to a conversation from its side panel: tag, take, escalate,
de-escalate, resolve; and where the conversation then shows up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import expect

from app.inbox.models import Conversation
from tests.e2e.support import TEAM_NAME, Browsers, Stack, act, swaps, wait_live


def _in_view(page: Any, view: str, conv: int) -> Any:
    page.goto(f"/inbox?view={view}")
    return page.locator(f'#rows .row[data-conversation="{conv}"]')


def test_tag_take_escalate_deescalate_resolve(browsers: Browsers, page: Any,
                                              stack: Stack) -> None:
    who = stack.customer("Uma Actions")
    conv = stack.conversation_of(stack.mention(who, "I want to cancel my contract").id)
    page.goto(f"/conversations/{conv}")
    wait_live(page)
    details = page.locator("#details")

    # Tag, then remove the tag.
    tags = details.locator("section[aria-label=Tags]")
    tags.get_by_label("Add tag").fill("Cancellation")
    act(page, lambda: tags.get_by_role("button", name="Add", exact=True).click())
    expect(tags.locator(".tag")).to_have_text(["cancellation"])
    act(page, lambda: tags.get_by_role("button", name="Remove tag cancellation").click())
    expect(tags.locator(".tag")).to_have_count(0)

    # Take it.
    act(page, lambda: details.get_by_role("button", name="Take it").click())
    expect(details.locator("[data-assignee]")).to_have_text("Alice Agent")

    # Escalate to the team, with the reason.
    escalate = details.locator("section[aria-label=Escalate]")
    escalate.get_by_label("To").select_option(label=f"team {TEAM_NAME}")
    escalate.get_by_label("Why").fill("Wants a refund above my limit")
    act(page, lambda: escalate.get_by_role("button", name="Escalate").click())
    box = details.locator("section.escalation")
    expect(box).to_contain_text(f"{TEAM_NAME} has it")
    expect(box).to_contain_text("(by Alice Agent)")
    expect(box).to_contain_text("Why: Wants a refund above my limit")
    expect(details.locator("section[aria-label=Escalate]")).to_have_count(0)
    expect(details.locator("[data-assignee]")).to_have_text(f"Alice Agent · team {TEAM_NAME}")

    other = browsers.page(stack.supervisor)  # as the team's supervisor sees the inbox
    row = _in_view(other, "escalated", conv)
    expect(row).to_be_visible()
    expect(row.locator(".badge.escalated")).to_have_text("escalated")

    # De-escalate with a note.
    box.get_by_label("What was done").fill("Refund approved by finance")
    act(page, lambda: box.get_by_role("button", name="De-escalate").click())
    expect(details.locator("section.escalation")).to_have_count(0)
    history = details.locator("section.history li")
    for line in ("Alice Agent tagged · tag: cancellation",
                 "Alice Agent untagged · tag: cancellation",
                 "Alice Agent assigned · agent: Alice Agent",
                 f"Alice Agent escalated · to: {TEAM_NAME} · reason: Wants a refund above my limit",
                 "Alice Agent deescalated · note: Refund approved by finance"):
        expect(history.filter(has_text=line)).to_have_count(1)
    expect(_in_view(other, "escalated", conv)).to_have_count(0)

    # Resolve.
    act(page, lambda: details.get_by_role("button", name="Resolve").click())
    expect(details.locator("[data-status]")).to_have_text("resolved")
    expect(details.get_by_role("button", name="Reopen")).to_be_visible()
    expect(history.filter(has_text="Alice Agent resolved")).to_have_count(1)

    row = _in_view(other, "resolved", conv)
    expect(row).to_be_visible()
    expect(row.locator(".status")).to_have_text("resolved")
    expect(_in_view(other, "open", conv)).to_have_count(0)


def test_snooze_is_read_and_shown_in_the_agents_time_zone(browsers: Browsers,
                                                          stack: Stack) -> None:
    page = browsers.page(stack.agent, timezone_id="America/New_York", locale="en-US")
    conv = stack.conversation_of(stack.mention(stack.customer("Zed Zones"), "later?").id)
    page.goto(f"/conversations/{conv}")
    wait_live(page)
    status = page.locator("#details section[aria-label=Status]")
    year = datetime.now(UTC).year + 1
    status.get_by_label("Snooze until").fill(f"{year}-01-15T09:00")
    act(page, lambda: status.get_by_role("button", name="Snooze").click())
    expect(status.locator("[data-status]")).to_have_text("snoozed")

    # 09:00 in New York in January (UTC-5) is 14:00 UTC, shown back as New York time.
    with stack.factory() as session:
        until = session.get(Conversation, conv).snoozed_until  # type: ignore[union-attr]
    assert until == datetime(year, 1, 15, 14, 0, tzinfo=UTC)
    shown = status.locator("time[data-local-time]")
    expect(shown).to_contain_text("9:00")
    expect(shown).to_contain_text("EST")


def test_a_live_refresh_keeps_what_is_typed_in_the_side_panel(browsers: Browsers, page: Any,
                                                               stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Ida Typing"), "urgent!").id)
    page.goto(f"/conversations/{conv}")
    wait_live(page)
    why = page.locator("#details section[aria-label=Escalate]").get_by_label("Why")
    tags = page.locator("#details section[aria-label=Tags] .tag")
    why.fill("Legal threat, needs")  # still typing, the field has focus
    sam = browsers.page(stack.supervisor)
    sam.goto(f"/conversations/{conv}")

    def colleague_tags(name: str) -> None:
        before = swaps(page, "thread")
        sam.locator("#details").get_by_label("Add tag").fill(name)
        sam.locator("#details").get_by_role("button", name="Add", exact=True).click()
        # The same live event refreshes the thread: by then the panel's turn has come.
        page.wait_for_function("n => (window.__e2e.swaps.thread || 0) > n", arg=before)

    colleague_tags("legal")
    expect(why).to_have_value("Legal threat, needs")
    expect(why).to_be_focused()
    expect(tags).to_have_count(0)

    why.press("Escape")  # out of the field, the text still there: still kept
    colleague_tags("vip")
    expect(why).to_have_value("Legal threat, needs")

    why.fill("")  # done with it: the panel catches up once the agent leaves it
    why.press("Escape")
    expect(tags).to_have_text(["legal", "vip"])


def test_bulk_mistakes_show_a_notice_and_keep_the_list(page: Any, stack: Stack) -> None:
    conv = stack.conversation_of(stack.mention(stack.customer("Bo Bulk"), "bulkzebra one").id)
    page.goto("/inbox?view=open&q=bulkzebra")
    row = page.locator(f'#rows .row[data-conversation="{conv}"]')
    expect(row).to_be_visible()
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("#notice")).to_have_text("select at least one conversation")
    expect(page).to_have_url(f"{stack.base_url}/inbox?view=open&q=bulkzebra")

    row.locator('input[name="ids"]').check()
    page.get_by_label("Bulk action", exact=True).select_option("tag")
    page.get_by_label("Tag name").fill("   ")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("#notice")).to_have_text("a tag needs 1 to 64 characters")
    expect(row.locator('input[name="ids"]')).to_be_checked()
    expect(page.get_by_label("Tag name")).to_have_value("   ")

    resolved = page.locator('[data-view-count="resolved"]')
    before = int(resolved.inner_text())
    page.get_by_label("Bulk action", exact=True).select_option("resolve")
    page.get_by_role("button", name="Apply to selected").click()
    expect(row).to_have_count(0)
    expect(resolved).to_have_text(str(before + 1))
    expect(page).to_have_url(f"{stack.base_url}/inbox?view=open&q=bulkzebra")
