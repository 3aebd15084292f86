"""Business calendars and local days, built in Python (zoneinfo) as small tables that
the report SQL joins against.

A business calendar becomes rows of (policy p, bucket b, c, s1, e1 ... s4, e4): time is
cut into UTC buckets of `bs` microseconds; `c` is the business time before the bucket
(counted from the first bucket); s/e are the business segments inside the bucket, as
offsets from its start. The business time from the origin to an instant t is then

    B(t) = c + sum_i clamp(t - b * bs - s_i, 0, e_i - s_i)      with b = t / bs

and the business time between two instants is B(end) - B(start): one equality join per
instant, exact to the microsecond, whatever the time zone does. Buckets are UTC days
when no day holds more than four segments, else hours, and so on down to seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import Invalid
from app.reports.models import SlaPolicy
from app.reports.sql import US, clamp, json_rows

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SEGMENTS = 4
DAY_BUCKET = 86_400 * US
BUCKET_SIZES = (DAY_BUCKET, 3_600 * US, 900 * US, 60 * US, US)
CALENDAR_COLUMNS = ("p", "b", "c") + tuple(f"{x}{i}" for i in range(1, MAX_SEGMENTS + 1)
                                           for x in ("s", "e"))


@dataclass(frozen=True)
class Schedule:
    """A weekly schedule in a time zone, minus holidays."""

    tz: ZoneInfo
    # Per weekday (0 = Monday): (start, end) in seconds after local midnight; an end at
    # or before its start runs past midnight into the next day. Tuples: hashable, so
    # that a schedule's weeks can be cached.
    hours: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date]


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown time zone {name!r}") from exc


def schedule_of(policy: SlaPolicy) -> Schedule | None:
    """The policy's business hours; None when it runs around the clock."""
    hours: dict[int, tuple[tuple[int, int], ...]] = {}
    for key, spans in (policy.business_hours or {}).items():
        day = key.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise Invalid(f"business hours: unknown weekday {key!r}")
        hours[WEEKDAYS.index(day)] = tuple(
            (_clock(start), _clock(end)) for start, end in spans)
    if not any(hours.values()):
        return None
    holidays = frozenset(date.fromisoformat(d) for d in _holiday_dates(policy.holidays or {}))
    return Schedule(tz=zone(policy.timezone or "UTC"),
                    hours=tuple(hours.get(day, ()) for day in range(7)), holidays=holidays)


def _holiday_dates(holidays: Mapping[str, Any]) -> Iterable[str]:
    # {"2026-12-25": "Christmas Day"}; a list under "dates" is accepted too.
    dates = holidays.get("dates")
    if isinstance(dates, list):
        yield from dates
    yield from (k for k in holidays if k != "dates")


def _clock(value: str) -> int:
    """'09:30' or '09:30:15' as seconds after midnight; '24:00' is the day's end."""
    try:
        parts = [int(p) for p in value.split(":")]
        if not 2 <= len(parts) <= 3:
            raise ValueError(value)
        h, m, s = (parts + [0])[:3]
    except (ValueError, AttributeError) as exc:
        raise Invalid(f"business hours: bad time {value!r}, use HH:MM") from exc
    if not (0 <= h <= 24 and 0 <= m < 60 and 0 <= s < 60) or (h == 24 and (m or s)):
        raise Invalid(f"business hours: bad time {value!r}")
    return h * 3600 + m * 60 + s


def business_intervals(schedule: Schedule, lo_us: int, hi_us: int) -> list[tuple[int, int]]:
    """Merged business intervals (UTC microseconds) meeting [lo_us, hi_us]."""
    first = _utc(lo_us).astimezone(schedule.tz).date() - timedelta(days=2)
    last = _utc(hi_us).astimezone(schedule.tz).date() + timedelta(days=1)
    out: list[tuple[int, int]] = []
    day = first
    while day <= last:
        if day not in schedule.holidays:
            midnight = datetime(day.year, day.month, day.day, tzinfo=schedule.tz)
            for start, end in schedule.hours[day.weekday()]:
                if end <= start:
                    end += 86_400
                # Aware + timedelta is wall-clock arithmetic; converting to UTC then
                # applies the offset in force at that wall time (DST days included).
                s = _micros(midnight + timedelta(seconds=start))
                e = _micros(midnight + timedelta(seconds=end))
                if e > s and e > lo_us and s < hi_us:
                    out.append((s, e))
        day += timedelta(days=1)
    out.sort()
    merged: list[tuple[int, int]] = []
    for s, e in out:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


WEEK_US = 7 * 86_400 * US


@lru_cache(maxsize=4096)
def week_intervals(schedule: Schedule, week: int) -> tuple[tuple[int, int], ...]:
    """The business intervals of UTC week number `week` (from the epoch), cut to it:
    deadlines walk week by week, and a page of badges asks for the same weeks."""
    lo, hi = week * WEEK_US, (week + 1) * WEEK_US
    return tuple((max(s, lo), min(e, hi)) for s, e in business_intervals(schedule, lo, hi)
                 if min(e, hi) > max(s, lo))


def _utc(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _micros(when: datetime) -> int:
    delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def to_micros(when: datetime) -> int:
    """An aware datetime as epoch microseconds."""
    if when.tzinfo is None:
        raise Invalid("a time without a time zone; use an aware datetime")
    return _micros(when)


def from_micros(us: int) -> datetime:
    return _utc(us)


@dataclass(frozen=True)
class Calendar:
    """Business calendars of several policies over one time range, ready to bind."""

    bucket_us: int
    rows: list[dict[str, int]]
    policy_ids: tuple[int, ...]

    def params(self) -> dict[str, Any]:
        return {"cal": json.dumps(self.rows), "cal_bs": self.bucket_us,
                "cal_policies": list(self.policy_ids) or [-1]}


def build_calendar(schedules: Mapping[int, Schedule], lo_us: int, hi_us: int) -> Calendar:
    """Calendars of these policies covering [lo_us, hi_us]."""
    for bs in BUCKET_SIZES:
        rows: list[dict[str, int]] = []
        for pid, schedule in schedules.items():
            # Cut at UTC week starts, which are bucket boundaries too: no extra segments.
            ivs = [iv for week in range((lo_us - bs) // WEEK_US, (hi_us + bs) // WEEK_US + 1)
                   for iv in week_intervals(schedule, week)]
            bucketed = _buckets(pid, ivs, lo_us // bs, hi_us // bs, bs)
            if bucketed is None:
                break
            rows += bucketed
        else:
            return Calendar(bs, rows, tuple(schedules))
    raise Invalid("business hours too fragmented")  # more than 4 segments in one second


def _buckets(pid: int, ivs: list[tuple[int, int]], first: int, last: int,
             bs: int) -> list[dict[str, int]] | None:
    rows, cum, i = [], 0, 0
    for b in range(first, last + 1):
        start, end = b * bs, (b + 1) * bs
        while i < len(ivs) and ivs[i][1] <= start:
            i += 1
        segments, j = [], i
        while j < len(ivs) and ivs[j][0] < end:
            s, e = max(ivs[j][0], start), min(ivs[j][1], end)
            if e > s:
                segments.append((s - start, e - start))
            j += 1
        if len(segments) > MAX_SEGMENTS:
            return None
        row = {"p": pid, "b": b, "c": cum}
        for n in range(MAX_SEGMENTS):
            s, e = segments[n] if n < len(segments) else (0, 0)
            row[f"s{n + 1}"], row[f"e{n + 1}"] = s, e
        rows.append(row)
        cum += sum(e - s for s, e in segments)
    return rows


def calendar_table(d: str) -> str:
    """The bound calendar (Calendar.params) as a subquery."""
    return json_rows("cal", CALENDAR_COLUMNS, d)


def business_clock(alias: str, t: str, d: str) -> str:
    """B(t): business microseconds from the calendar's origin to instant t (see above)."""
    terms = [f"{alias}.c"]
    for n in range(1, MAX_SEGMENTS + 1):
        s, e = f"{alias}.s{n}", f"{alias}.e{n}"
        terms.append(clamp(f"{t} - {alias}.b * CAST(:cal_bs AS BIGINT) - {s}", f"{e} - {s}", d))
    return "(" + " + ".join(terms) + ")"


# --- local days and hours, for per-day and per-hour figures ----------------------------

def utc_offsets(tz: ZoneInfo, lo_s: int, hi_s: int) -> list[tuple[int, int]]:
    """(from epoch second, UTC offset in seconds) for every offset in force in the range."""
    def offset(s: int) -> int:
        delta = datetime.fromtimestamp(s, UTC).astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    out = [(lo_s, offset(lo_s))]
    step, s = 86_400, lo_s
    while s < hi_s:
        nxt = min(s + step, hi_s)
        if offset(nxt) != out[-1][1]:
            lo, hi = s, nxt  # the change happens in (lo, hi]: find its first second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == out[-1][1] else (lo, mid)
            out.append((hi, offset(hi)))
        s = nxt
    return out


def local_seconds(expr: str, offsets: list[tuple[int, int]]) -> str:
    """SQL: epoch seconds `expr` shifted to local wall-clock seconds."""
    if len(offsets) == 1:
        return f"({expr} + {int(offsets[0][1])})"
    cases = " ".join(f"WHEN {expr} < {int(start)} THEN {int(prev)}"
                     for (start, _), (_, prev) in zip(offsets[1:], offsets, strict=False))
    return f"({expr} + CASE {cases} ELSE {int(offsets[-1][1])} END)"


def local_day(day_number: int) -> date:
    """The local date of `local seconds // 86400`."""
    return date(1970, 1, 1) + timedelta(days=day_number)


def local_days(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[date, int, int]]:
    """(local date, start µs, end µs) of each local day meeting [start, end)."""
    out: list[tuple[date, int, int]] = []
    day = start.astimezone(tz).date()
    while True:
        begin = datetime(day.year, day.month, day.day, tzinfo=tz)
        nxt = day + timedelta(days=1)
        finish = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
        if begin >= end:
            return out
        out.append((day, _micros(begin), _micros(finish)))
        day = nxt
