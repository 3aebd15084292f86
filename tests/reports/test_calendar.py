"""Business calendars, local days and hours, and deadlines: plain Python, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.errors import Invalid
from app.reports.activity import _hours
from app.reports.calendar import (
    DAY_BUCKET,
    build_calendar,
    business_intervals,
    from_micros,
    schedule_of,
    to_micros,
    utc_offsets,
)
from app.reports.filters import Filters
from app.reports.models import SlaPolicy
from app.reports.sla import _back, _due

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def schedule(hours: dict[str, list[list[str]]], tz: str = "Europe/Berlin",
             holidays: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    s = schedule_of(SlaPolicy(name="p", timezone=tz, business_hours=hours,
                              holidays=holidays or {}))
    assert s is not None
    return s


def intervals(hours: dict[str, list[list[str]]], lo: datetime, hi: datetime,
              **kw: object) -> list[tuple[datetime, datetime]]:
    return [(from_micros(s), from_micros(e)) for s, e in business_intervals(
        schedule(hours, **kw), to_micros(lo), to_micros(hi))]  # type: ignore[arg-type]


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_around_the_clock_has_no_schedule() -> None:
    assert schedule_of(SlaPolicy(name="p", business_hours={})) is None
    assert schedule_of(SlaPolicy(name="p", business_hours={"mon": []})) is None


@pytest.mark.parametrize("hours", [{"someday": [["09:00", "17:00"]]}, {"mon": [["9", "x"]]},
                                   {"mon": [["25:00", "26:00"]]}, {"mon": [["24:30", "24:40"]]}])
def test_bad_schedules_are_refused(hours: dict[str, list[list[str]]]) -> None:
    with pytest.raises(Invalid):
        schedule_of(SlaPolicy(name="p", business_hours=hours))


def test_office_hours_are_local_hours_across_the_dst_change() -> None:
    week = intervals(OFFICE, utc(2026, 10, 23), utc(2026, 10, 27))
    assert week == [(utc(2026, 10, 23, 7), utc(2026, 10, 23, 15)),   # Friday, summer time
                    (utc(2026, 10, 26, 8), utc(2026, 10, 26, 16))]   # Monday, winter time


def test_a_sunday_lasts_25_hours_when_the_clocks_go_back() -> None:
    (start, end), = intervals({"sun": [["00:00", "24:00"]]}, utc(2026, 10, 25),
                              utc(2026, 10, 25, 12))
    assert end - start == timedelta(hours=25)


def test_overnight_hours_and_holidays() -> None:
    night = intervals({"mon": [["22:00", "06:00"]]}, utc(2026, 11, 2), utc(2026, 11, 4),
                      tz="UTC")
    assert night == [(utc(2026, 11, 2, 22), utc(2026, 11, 3, 6))]
    off = intervals(OFFICE, utc(2026, 12, 24), utc(2026, 12, 26), tz="UTC",
                    holidays={"2026-12-25": "Christmas Day"})
    assert off == [(utc(2026, 12, 24, 9), utc(2026, 12, 24, 17))]
    listed = intervals(OFFICE, utc(2026, 12, 24), utc(2026, 12, 26), tz="UTC",
                       holidays={"dates": ["2026-12-24", "2026-12-25"]})  # type: ignore[dict-item]
    assert listed == []


def test_calendar_rows_give_business_time_and_fall_back_to_hours() -> None:
    office = schedule(OFFICE)
    cal = build_calendar({1: office}, to_micros(utc(2026, 11, 2)), to_micros(utc(2026, 11, 9)))
    assert cal.bucket_us == DAY_BUCKET
    assert [r["c"] for r in cal.rows[:3]] == [0, 8 * 3600 * 10**6, 16 * 3600 * 10**6]
    choppy = schedule({"mon": [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(9, 15)]}, "UTC")
    monday = to_micros(utc(2026, 11, 2))
    hourly = build_calendar({1: choppy}, monday, monday + 86_400 * 10**6)
    assert hourly.bucket_us == 3600 * 10**6
    assert hourly.rows[-1]["c"] == 3 * 3600 * 10**6  # six half hours before the last hour


def test_deadlines_walk_business_time_both_ways() -> None:
    office = schedule(OFFICE)
    friday = to_micros(datetime(2026, 11, 6, 16, 45, tzinfo=BERLIN))
    monday = datetime(2026, 11, 9, 9, 15, tzinfo=BERLIN)
    assert from_micros(_due(office, friday, 1800 * 10**6)) == monday
    assert from_micros(_back(office, to_micros(monday), 1800 * 10**6)) == from_micros(friday)
    assert _due(None, 5, 10) == 15 and _back(None, 15, 10) == 5


def test_local_hours_on_dst_days() -> None:
    spring = _hours(Filters(start=datetime(2026, 3, 29, tzinfo=BERLIN),
                            end=datetime(2026, 3, 30, tzinfo=BERLIN)), "Europe/Berlin")
    assert [hour for _, hour, _, _ in spring] == [h for h in range(24) if h != 2]
    autumn = _hours(Filters(start=datetime(2026, 10, 25, tzinfo=BERLIN),
                            end=datetime(2026, 10, 26, tzinfo=BERLIN)), "Europe/Berlin")
    two = [(hi - lo) // 10**6 for _, hour, lo, hi in autumn if hour == 2]
    assert (len(autumn), two) == (24, [7200])


def test_utc_offsets_find_the_change_to_the_second() -> None:
    lo = int(utc(2026, 10, 20).timestamp())
    changes = utc_offsets(BERLIN, lo, int(utc(2026, 10, 30).timestamp()))
    assert changes == [(lo, 7200), (int(utc(2026, 10, 25, 1).timestamp()), 3600)]
    assert date(2026, 10, 25).weekday() == 6
