"""Business-hours arithmetic: SLA clocks that only run while a group is working.

A group with `work_start` and `work_end` set works those hours of its local day (`time_zone`) on
its `work_days` (ISO weekdays, empty = every day). `work_end` at or before `work_start` is a
night shift that ends the next morning. Pure functions of the group's four fields and the
instants given: no ORM, so they are tested with Hypothesis.

Durations are measured in real elapsed time (UTC), so a DST change inside a working day makes
that day an hour shorter or longer, as it is for the people working it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# A week always holds at least one working window, so this many days without one means the
# settings are unusable (e.g. work_days lists no real weekday) and we fall back to wall time.
_SEARCH_DAYS = 8


def _zone(group: Any) -> ZoneInfo:
    try:
        return ZoneInfo(group.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        # A typo in the admin must not stop the SLA clock; UTC is the least surprising guess.
        return ZoneInfo("UTC")


def _work_days(group: Any) -> set[int]:
    days = set()
    for value in group.work_days or []:
        try:
            day = int(value)
        except (TypeError, ValueError):
            continue
        if 1 <= day <= 7:
            days.add(day)
    return days or set(range(1, 8))


def _window(group: Any, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The working window that starts on local `day`, in UTC, or None on a day off."""
    if day.isoweekday() not in _work_days(group):
        return None
    start_time: time = group.work_start
    end_time: time = group.work_end
    end_day = day if end_time > start_time else day + timedelta(days=1)
    start = datetime.combine(day, start_time, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(end_day, end_time, tzinfo=zone).astimezone(UTC)
    return (start, end) if end > start else None


def _windows_from(group: Any, at: datetime) -> Any:
    """Working windows (UTC) that end after `at`, in order, starting the day before `at`."""
    zone = _zone(group)
    # A night shift that began yesterday may still be running at `at`.
    day = at.astimezone(zone).date() - timedelta(days=1)
    idle_days = 0
    while idle_days <= _SEARCH_DAYS:
        window = _window(group, day, zone)
        day += timedelta(days=1)
        if window is None or window[1] <= at:
            idle_days += 1 if window is None else 0
            continue
        idle_days = 0
        yield window


def add_business_minutes(group: Any, start: datetime, minutes: float) -> datetime:
    """`start` plus `minutes` of the group's working time.

    Steps: walk the working windows from `start`; inside one, spend what it has left; carry the
    rest to the next window. The result is always inside a working window (its end included),
    so a request created on Friday evening with a 4-hour SLA is due on Monday.
    """
    remaining = timedelta(minutes=max(minutes, 0))
    at = start.astimezone(UTC)
    for window_start, window_end in _windows_from(group, at):
        at = max(at, window_start)
        available = window_end - at
        if remaining <= available:
            return at + remaining
        remaining -= available
        at = window_end
    # No working window within a week: the settings are unusable; count plain minutes.
    return start + timedelta(minutes=minutes)


def business_minutes_between(group: Any, start: datetime, end: datetime) -> float:
    """Working minutes between two instants (0 when `end` is not after `start`)."""
    total = timedelta(0)
    at = start.astimezone(UTC)
    end = end.astimezone(UTC)
    if end <= at:
        return 0.0
    for window_start, window_end in _windows_from(group, at):
        if window_start >= end:
            break
        total += min(window_end, end) - max(window_start, at)
    return total.total_seconds() / 60


def is_working_time(group: Any, at: datetime) -> bool:
    """Inside one of the group's working windows (both ends included)."""
    at = at.astimezone(UTC)
    zone = _zone(group)
    local_day = at.astimezone(zone).date()
    for day in (local_day - timedelta(days=1), local_day):
        window = _window(group, day, zone)
        if window and window[0] <= at <= window[1]:
            return True
    return False
