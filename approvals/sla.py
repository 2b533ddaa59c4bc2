"""SLA arithmetic: due times (in business hours where a group has them) and sweep check points."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def add_working_minutes(group: Any, start: datetime, minutes: int) -> datetime:
    """`start` plus `minutes` of the group's working time (plain minutes without business hours)."""
    if group is None or not getattr(group, "has_business_hours", False):
        return start + timedelta(minutes=minutes)
    from approvals.business_hours import add_business_minutes

    return add_business_minutes(group, start, minutes)


def reminder_times(created: datetime, due: datetime, points: list[Any]) -> list[datetime]:
    span = due - created
    times = []
    for point in points:
        try:
            fraction = float(point)
        except (TypeError, ValueError):
            continue
        if 0 < fraction < 1:
            times.append(created + span * fraction)
    return sorted(times)
