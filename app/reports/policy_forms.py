"""SLA policies as supervisors edit them: plain text fields in, a validated policy out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent, Team
from app.errors import Invalid, NotFound
from app.ids import parsed_id
from app.reports.calendar import WEEKDAYS, schedule_of, zone
from app.reports.models import SlaPolicy
from app.reports.spans import mark_all_dirty
from app.text import typed


@dataclass
class PolicyForm:
    name: str = ""
    priority: str = ""
    platform: str = ""
    account_id: str = ""
    first_response_minutes: str = ""
    next_reply_minutes: str = ""
    resolution_hours: str = ""
    at_risk_percent: str = "25"
    timezone: str = "UTC"
    hours: dict[str, str] | None = None  # weekday -> "09:00-12:00, 13:00-17:00"
    holidays: str = ""  # one "YYYY-MM-DD name" a line
    is_default: bool = False
    escalate_to: str = ""  # "", "team:ID" or "agent:ID"

    @classmethod
    def of(cls, p: SlaPolicy) -> PolicyForm:
        def minutes(v: int | None, per: int) -> str:
            return "" if v is None else f"{v / per:g}"
        return cls(
            name=p.name, priority=p.priority or "", platform=p.platform or "",
            account_id=str(p.account_id or ""),
            first_response_minutes=minutes(p.first_response_seconds, 60),
            next_reply_minutes=minutes(p.next_reply_seconds, 60),
            resolution_hours=minutes(p.resolution_seconds, 3600),
            at_risk_percent=f"{p.at_risk_share * 100:g}", timezone=p.timezone,
            hours={d: ", ".join(f"{a}-{b}" for a, b in (p.business_hours or {}).get(d, []))
                   for d in WEEKDAYS},
            holidays="\n".join(f"{d} {n}".strip() for d, n in sorted((p.holidays or {}).items())),
            is_default=p.is_default,
            escalate_to=f"team:{p.escalate_to_team_id}" if p.escalate_to_team_id
            else f"agent:{p.escalate_to_agent_id}" if p.escalate_to_agent_id else "")


MAX_TARGET_SECONDS = 366 * 86400  # a year: longer is a typo, and stays a 32-bit integer


def _seconds(raw: str, per: int, what: str) -> int | None:
    """A positive number of `per`-second units as whole seconds (at least one)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"{what} must be a number") from None
    if not math.isfinite(value):
        raise Invalid(f"{what} must be a number")
    seconds = round(value * per)
    if seconds < 1:
        raise Invalid(f"{what} must be at least one second")
    if seconds > MAX_TARGET_SECONDS:
        raise Invalid(f"{what} must be at most a year")
    return seconds


def _percent(raw: str) -> int:
    """The at-risk share: a whole percentage from 1 to 99."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdecimal()) or not 1 <= int(raw) <= 99:
        raise Invalid("the at-risk share is a whole percentage between 1 and 99")
    return int(raw)


def _hours(raw: dict[str, str]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        text = (raw.get(day) or "").strip()
        if not text:
            continue
        spans = []
        for part in text.split(","):
            start, sep, end = part.strip().partition("-")
            if not sep:
                raise Invalid(f"business hours for {day}: write them like 09:00-17:00")
            spans.append([start.strip(), end.strip()])
        out[day] = spans
    return out


def _holidays(raw: str) -> dict[str, str]:
    out = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        day, _, name = line.strip().partition(" ")
        try:
            date.fromisoformat(day)
        except ValueError:
            raise Invalid(f"holiday {line.strip()!r}: start with a date like 2026-12-25") from None
        out[day] = typed(name.strip(), "holiday name", limit=120)
    return out


def save_policy(session: Session, form: PolicyForm, policy_id: int | None = None) -> SlaPolicy:
    """Create or change a policy; every field is checked before anything is written."""
    policy = SlaPolicy(name="") if policy_id is None else session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"no SLA policy {policy_id}")
    name = typed(form.name.strip(), "policy name", limit=120)
    if not name:
        raise Invalid("a policy needs a name")
    clash = session.scalars(select(SlaPolicy).where(SlaPolicy.name == name)).first()
    if clash is not None and clash.id != policy_id:
        raise Invalid(f"a policy named {name!r} exists already")
    if form.priority not in ("", "low", "normal", "high", "urgent"):
        raise Invalid("priority must be low, normal, high or urgent")
    if form.platform not in ("", "x", "facebook"):
        raise Invalid("channel must be x or facebook")
    account_id = parsed_id(form.account_id)
    if form.account_id.strip() and (account_id is None or session.get(Account, account_id)
                                    is None):
        raise Invalid("no such account")
    share = _percent(form.at_risk_percent)
    try:
        zone(form.timezone.strip() or "UTC")
    except Invalid:
        raise Invalid(f"unknown time zone {form.timezone!r}") from None
    values: dict[str, Any] = dict(
        name=name, priority=form.priority or None, platform=form.platform or None,
        account_id=account_id,
        first_response_seconds=_seconds(form.first_response_minutes, 60, "first response"),
        next_reply_seconds=_seconds(form.next_reply_minutes, 60, "next reply"),
        resolution_seconds=_seconds(form.resolution_hours, 3600, "resolution"),
        at_risk_share=share / 100, timezone=form.timezone.strip() or "UTC",
        business_hours=_hours(form.hours or {}), holidays=_holidays(form.holidays),
        is_default=form.is_default)
    kind, _, raw_id = form.escalate_to.partition(":")
    values["escalate_to_team_id"] = values["escalate_to_agent_id"] = None
    if form.escalate_to:
        number = parsed_id(raw_id)
        target = (session.get(Team, number) if kind == "team" and number is not None
                  else session.get(Agent, number) if kind == "agent" and number is not None
                  else None)
        if target is None or (isinstance(target, Agent) and target.role == "agent"):
            raise Invalid("escalate to a team, a supervisor or an admin")
        values[f"escalate_to_{kind}_id"] = target.id
    if not any(values[k] for k in ("first_response_seconds", "next_reply_seconds",
                                   "resolution_seconds")):
        raise Invalid("set at least one target")
    for key, value in values.items():
        setattr(policy, key, value)
    schedule_of(policy)  # raises Invalid for bad times
    if policy.is_default:
        session.execute(update(SlaPolicy).where(SlaPolicy.id != policy_id)
                        .values(is_default=False))
    session.add(policy)
    session.flush()
    mark_all_dirty(session)  # targets and calendars changed: every span is measured anew
    return policy


def delete_policy(session: Session, policy_id: int) -> None:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"no SLA policy {policy_id}")
    session.delete(policy)
    session.flush()
    mark_all_dirty(session)
