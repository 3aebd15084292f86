"""The inbox's named views and the filters a URL carries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from app.auth.models import Agent
from app.errors import Invalid
from app.ids import optional_id
from app.inbox.models import Priority, Status
from app.inbox.service import ConversationFilter, Sort
from connectors.base import Platform


@dataclass(frozen=True)
class View:
    key: str
    label: str
    sort: Sort | None  # None: the user's choice


VIEWS = [
    View("mine", "Mine", None),
    View("unassigned", "Unassigned", None),
    View("open", "All open", None),
    View("escalated", "Escalated", Sort.ESCALATED),
    View("snoozed", "Snoozed", None),
    View("resolved", "Resolved", Sort.NEWEST),
]
VIEW_KEYS = {v.key: v for v in VIEWS}


def view_filter(key: str, agent: Agent) -> ConversationFilter:
    if key == "mine":
        return ConversationFilter(status=Status.OPEN.value, assignee_id=agent.id)
    if key == "unassigned":
        return ConversationFilter(status=Status.OPEN.value, unassigned=True)
    if key == "escalated":
        return ConversationFilter(escalated=True)
    if key == "snoozed":
        return ConversationFilter(status=Status.SNOOZED.value)
    if key == "resolved":
        return ConversationFilter(status=Status.RESOLVED.value)
    return ConversationFilter(status=Status.OPEN.value)


def parse(params: dict[str, str], agent: Agent) -> tuple[View, ConversationFilter, Sort]:
    """The view, its filter refined by the URL's filters, and the sort order."""
    view = VIEW_KEYS.get(params.get("view") or "open")
    if view is None:
        raise Invalid(f"unknown view {params.get('view')!r}")
    f = view_filter(view.key, agent)
    extra: dict[str, Any] = {}
    status = params.get("status")
    if status:
        if status not in {s.value for s in Status}:
            raise Invalid(f"unknown status {status!r}")
        extra["status"] = status
    platform = params.get("platform")
    if platform:
        if platform not in {p.value for p in Platform}:
            raise Invalid(f"unknown platform {platform!r}")
        extra["platform"] = platform
    priority = params.get("priority")
    if priority:
        if priority not in {p.value for p in Priority}:
            raise Invalid(f"unknown priority {priority!r}")
        extra["priority"] = priority
    for name, field in (("account", "account_id"), ("tag", "tag_id"), ("team", "team_id"),
                        ("assignee", "assignee_id")):
        value = optional_id(params.get(name), name)
        if value is not None:
            extra[field] = value
    q = (params.get("q") or "").strip()
    if q:
        extra["q"] = q
    sort_raw = params.get("sort") or "waiting"
    if sort_raw not in ("waiting", "newest", "breach"):
        raise Invalid("sort must be waiting, newest or breach")
    # "breach" is ranked by app/inbox/breach.py; the keyset order is its fallback.
    sort = view.sort or Sort(sort_raw if sort_raw != "breach" else "waiting")
    return view, replace(f, **extra), sort
