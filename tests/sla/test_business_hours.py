"""approvals.sla.business_hours: SLA clocks that run only in a group's working time (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.sla.business_hours import (
    add_business_minutes,
    business_minutes_between,
    is_working_time,
)
from approvals.sla.clock import add_working_minutes

BERLIN = ZoneInfo("Europe/Berlin")


def group(
    start: time = time(9),
    end: time = time(17),
    days: list[int] | None = None,
    zone: str = "Europe/Berlin",
) -> SimpleNamespace:
    return SimpleNamespace(
        work_start=start,
        work_end=end,
        work_days=[1, 2, 3, 4, 5] if days is None else days,
        time_zone=zone,
        has_business_hours=True,
    )


def test_it_makes_a_friday_evening_request_due_on_monday_morning() -> None:
    friday_evening = datetime(2026, 11, 20, 18, 30, tzinfo=BERLIN)
    due = add_business_minutes(group(start=time(8), end=time(16)), friday_evening, 4 * 60)
    assert due.astimezone(BERLIN) == datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN)  # Monday


def test_it_carries_what_is_left_of_a_day_to_the_next_working_day() -> None:
    thursday_4pm = datetime(2026, 11, 19, 16, 0, tzinfo=BERLIN)
    due = add_business_minutes(group(), thursday_4pm, 3 * 60)
    assert due.astimezone(BERLIN) == datetime(2026, 11, 20, 11, 0, tzinfo=BERLIN)


def test_it_uses_the_group_time_zone() -> None:
    # 07:00 UTC is 08:00 in Berlin (before work) but 23:00 the day before in Los Angeles.
    start = datetime(2026, 11, 18, 7, 0, tzinfo=UTC)
    berlin = add_business_minutes(group(), start, 60)
    los_angeles = add_business_minutes(group(zone="America/Los_Angeles"), start, 60)
    assert berlin == datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # 10:00 Berlin
    assert los_angeles == datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # 10:00 Los Angeles


def test_it_counts_real_time_across_a_dst_change() -> None:
    # Sunday 29 March 2026 Berlin skips 02:00-03:00: a night shift 22:00-06:00 is 7 h long.
    night = group(start=time(22), end=time(6), days=[])
    start = datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN)
    assert add_business_minutes(night, start, 7 * 60).astimezone(BERLIN) == datetime(
        2026, 3, 29, 6, 0, tzinfo=BERLIN
    )


def test_it_falls_back_to_plain_minutes_without_business_hours() -> None:
    start = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)
    plain = SimpleNamespace(has_business_hours=False)
    assert add_working_minutes(plain, start, 240) == start + timedelta(hours=4)
    assert add_working_minutes(None, start, 240) == start + timedelta(hours=4)


def test_it_survives_a_bad_time_zone_or_work_days() -> None:
    start = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    assert add_business_minutes(group(zone="Mars/Olympus"), start, 60) == start + timedelta(hours=1)
    every_day = add_business_minutes(group(days=[0, 9, "x"], zone="UTC"), start, 60)  # type: ignore[list-item]
    assert every_day == start + timedelta(hours=1)


# --- properties ------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
minutes = st.integers(min_value=0, max_value=60 * 24 * 10)
hours = st.builds(
    lambda start, length, days, zone: group(
        start=time(start), end=time((start + length) % 24), days=days, zone=zone
    ),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=1, max_value=23),
    st.lists(st.integers(min_value=1, max_value=7), max_size=7, unique=True),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)


@settings(max_examples=200, deadline=None)
@given(hours, starts, minutes)
def test_it_never_lands_outside_working_time(g: SimpleNamespace, start: datetime, m: int) -> None:
    due = add_business_minutes(g, start, m)
    assert due >= start
    assert is_working_time(g, due)


@settings(max_examples=200, deadline=None)
@given(hours, starts, minutes)
def test_it_spends_exactly_the_minutes_asked(g: SimpleNamespace, start: datetime, m: int) -> None:
    due = add_business_minutes(g, start, m)
    assert abs(business_minutes_between(g, start, due) - m) < 1e-6


@settings(max_examples=200, deadline=None)
@given(hours, starts, starts, minutes, minutes)
def test_it_is_monotonic_in_start_and_minutes(
    g: SimpleNamespace, a: datetime, b: datetime, m: int, n: int
) -> None:
    early, late = sorted((a, b))
    few, many = sorted((m, n))
    assert add_business_minutes(g, early, few) <= add_business_minutes(g, late, few)
    assert add_business_minutes(g, early, few) <= add_business_minutes(g, early, many)
