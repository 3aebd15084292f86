"""The reports benchmark's dataset, written straight through the DBAPI (COPY on
PostgreSQL), because what is measured is reading, not ingest.

Conversations open over `days` days (weekday office hours busier than nights and
weekends) on four accounts (two X, two Facebook). Each one: a run of customer
messages, sometimes an automatic acknowledgement, a human reply (an agent through
Switchboard, or the platform's own app), sometimes a follow-up and a second reply,
then usually a resolution event; some are reopened by the customer days later and go
through a second cycle. A few replies failed, some were canned responses sent
unchanged. Priorities, teams, assignees and tags as fixed functions of the id.
Every figure derives from the seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent, Team
from app.inbox.models import Tag
from app.reports.models import SlaPolicy

NOW = datetime(2027, 1, 1, tzinfo=UTC)
AGENTS, TEAMS, TAGS = 20, 5, 10
ACCOUNTS = (("x", "Acme (X)"), ("x", "Acme DE (X)"), ("facebook", "Acme"),
            ("facebook", "Acme DE"))
OFFICE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
HOLIDAYS = {"2026-12-24": "Christmas Eve", "2026-12-25": "Christmas Day",
            "2026-12-26": "Boxing Day", "2026-10-03": "German Unity Day"}


@dataclass(frozen=True)
class Spec:
    messages: int
    conversations: int
    days: int
    seed: int


@dataclass
class Ids:
    accounts: list[tuple[int, str]]
    agents: list[int]
    teams: list[int]
    tags: list[int]


def setup(session: Session) -> Ids:
    """Accounts, agents, teams, tags and SLA policies (through the ORM: a few rows)."""
    accounts = [Account(platform=p, name=n, external_id=str(i), handle=f"acme{i}")
                for i, (p, n) in enumerate(ACCOUNTS)]
    agents = [Agent(email=f"agent{i}@example.com", name=f"Agent {i:02d}", password_hash="x")
              for i in range(AGENTS)]
    teams = [Team(name=f"Team {i}") for i in range(TEAMS)]
    tags = [Tag(name=f"tag-{i}") for i in range(TAGS)]
    session.add_all([*accounts, *agents, *teams, *tags])
    session.flush()
    session.add_all([
        SlaPolicy(name="Default", is_default=True, first_response_seconds=3600,
                  next_reply_seconds=7200, resolution_seconds=86_400),
        SlaPolicy(name="Urgent", priority="urgent", first_response_seconds=900,
                  next_reply_seconds=1800, resolution_seconds=14_400),
        SlaPolicy(name="Facebook office hours", platform="facebook",
                  first_response_seconds=7200, next_reply_seconds=14_400,
                  resolution_seconds=3 * 86_400, timezone="Europe/Berlin",
                  business_hours=OFFICE, holidays=HOLIDAYS),
        SlaPolicy(name="Acme DE (X)", account_id=accounts[1].id, first_response_seconds=1800,
                  next_reply_seconds=3600, resolution_seconds=2 * 86_400,
                  timezone="Europe/Berlin", business_hours=OFFICE, holidays=HOLIDAYS),
    ])
    session.flush()
    return Ids(accounts=[(a.id or 0, a.platform) for a in accounts],
               agents=[a.id or 0 for a in agents], teams=[t.id or 0 for t in teams],
               tags=[t.id or 0 for t in tags])


@dataclass
class Rows:
    conversations: list[tuple[Any, ...]]
    messages: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    tags: list[tuple[int, int]]


CONVERSATION_COLUMNS = ("id", "account_id", "platform", "thread_kind", "external_thread_id",
                        "status", "priority", "assignee_id", "team_id", "created_at",
                        "updated_at", "first_message_at", "last_message_at", "resolved_at",
                        "message_count")
MESSAGE_COLUMNS = ("conversation_id", "platform", "external_id", "direction",
                   "author_agent_id", "text", "created_at", "received_at", "is_automated",
                   "is_private", "delivery_state", "raw", "canned_response_id",
                   "canned_unchanged")
EVENT_COLUMNS = ("agent_id", "conversation_id", "action", "details", "created_at")


def generate(spec: Spec, ids: Ids, chunk: int = 20_000) -> Iterator[Rows]:
    """The rows, `chunk` conversations at a time."""
    rng = random.Random(spec.seed)
    start = NOW - timedelta(days=spec.days)
    # About 2.2 messages per turn (customer run, reply) and 1.12 cycles per conversation:
    # the chance of extra turns that brings the total near spec.messages.
    turns = (spec.messages / spec.conversations / 1.12 - 0.2) / 2.2
    extra = min(1.0, max(0.0, (turns - 1) * 0.75))
    serial = 0
    for lo in range(1, spec.conversations + 1, chunk):
        rows = Rows([], [], [], [])
        for cid in range(lo, min(lo + chunk, spec.conversations + 1)):
            serial = _conversation(rng, rows, cid, ids, _opening(rng, start, spec.days), extra,
                                   serial)
        yield rows


def _opening(rng: random.Random, start: datetime, days: int) -> datetime:
    while True:
        at = start + timedelta(seconds=rng.random() * days * 86_400)
        weight = (1.0 if 7 <= at.hour < 19 else 0.25) * (1.0 if at.weekday() < 5 else 0.5)
        if rng.random() < weight:
            return at


def _conversation(rng: random.Random, rows: Rows, cid: int, ids: Ids, at: datetime,
                  extra: float, serial: int) -> int:
    account_id, platform = ids.accounts[cid % len(ids.accounts)]
    agent = ids.agents[cid % len(ids.agents)] if cid % 5 < 3 else rng.choice(ids.agents)
    messages: list[tuple[Any, ...]] = []

    def message(when: datetime, inbound: bool, *, by: int | None = None, auto: bool = False,
                state: str | None = None, canned: bool | None = None) -> None:
        nonlocal serial
        serial += 1
        messages.append((cid, platform, f"m{serial}", "inbound" if inbound else "outbound",
                         by, "hello", when, when, auto, False, state, "{}",
                         1 if canned else None, canned))

    resolved_at: datetime | None = None
    cycles = 2 if rng.random() < 0.12 else 1
    for cycle in range(cycles):
        if cycle:
            if resolved_at is None or resolved_at >= NOW:
                break
            at = resolved_at + timedelta(hours=rng.expovariate(1 / 40))
            resolved_at = None
        turns = 1 + (rng.random() < extra) + (rng.random() < extra / 3)
        for turn in range(turns):
            for _ in range(1 + (rng.random() < 0.35)):
                if at >= NOW:
                    break
                message(at, True)
                at += timedelta(seconds=rng.expovariate(1 / 240))
            if cycle == 0 and turn == 0 and rng.random() < 0.2:
                message(at + timedelta(seconds=5), False, auto=True, state="sent")
            at += timedelta(seconds=rng.lognormvariate(7.3, 1.3))  # median ~25 min
            if at >= NOW or rng.random() < 0.06:
                break  # still waiting (or never answered before the resolution)
            by = None if rng.random() < 0.15 else agent  # from the platform's own app
            state = "failed" if rng.random() < 0.005 else "sent"
            message(at, False, by=by, state=state, canned=by is not None and rng.random() < 0.3)
            at += timedelta(seconds=rng.lognormvariate(8.0, 1.5))
        if rng.random() < 0.85 and at + timedelta(hours=1) < NOW:
            resolved_at = at + timedelta(seconds=rng.lognormvariate(8.5, 1.2))
            if resolved_at < NOW:
                rows.events.append((agent, cid, "resolved", "{}", resolved_at))
            else:
                resolved_at = None
    rows.messages += messages
    first, last = messages[0][6], max(m[6] for m in messages)
    status = "resolved" if resolved_at is not None else ("snoozed" if cid % 47 == 0 else "open")
    priority = ("urgent" if cid % 23 == 0 else "high" if cid % 13 == 1 else
                "low" if cid % 17 == 2 else "normal")
    rows.conversations.append((
        cid, account_id, platform, "x_mention" if platform == "x" else "fb_comment",
        f"t{cid}", status, priority, agent if cid % 5 < 4 else None,
        ids.teams[cid % len(ids.teams)] if cid % 7 < 5 else None, first, last, first, last,
        resolved_at, len(messages)))
    if cid % 6 == 0:
        rows.tags.append((cid, ids.tags[(cid // 6) % len(ids.tags)]))
    return serial


def write(conn: Any, sqlite: bool, rows: Rows) -> None:
    """Insert one chunk through the DBAPI connection (the caller commits)."""
    def ts(value: datetime | None) -> str | None:
        if value is None:
            return None
        if sqlite:  # what SQLAlchemy's SQLite DateTime stores
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.isoformat()

    conversations = [(*r[:9], ts(r[9]), ts(r[10]), ts(r[11]), ts(r[12]), ts(r[13]), r[14])
                     for r in rows.conversations]
    messages = [(*r[:6], ts(r[6]), ts(r[7]), *r[8:]) for r in rows.messages]
    events = [(*r[:4], ts(r[4])) for r in rows.events]
    tags = [(c, t, ts(NOW)) for c, t in rows.tags]
    tables = (("conversation", CONVERSATION_COLUMNS, conversations),
              ("message", MESSAGE_COLUMNS, messages), ("audit_event", EVENT_COLUMNS, events),
              ("conversation_tag", ("conversation_id", "tag_id", "created_at"), tags))
    for table, columns, data in tables:
        if sqlite:
            marks = ", ".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                             data)
        else:
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
                for row in data:
                    cp.write_row(row)


def fix_sequences(session: Session) -> None:
    """PostgreSQL: move the conversation id sequence past the ids written by COPY."""
    session.execute(text("SELECT setval(pg_get_serial_sequence('conversation', 'id'), "
                         "(SELECT MAX(id) FROM conversation))"))

