"""SLA arithmetic: due times (in business hours where a group has them) and sweep check points.

Pure functions of values: the services store what these compute, the SLA sweep acts on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from approvals.sla.business_hours import add_business_minutes


def add_working_minutes(group: Any, start: datetime, minutes: int) -> datetime:
    """`start` plus `minutes` of the group's working time (plain minutes without business hours)."""
    if group is None or not getattr(group, "has_business_hours", False):
        return start + timedelta(minutes=minutes)
    return add_business_minutes(group, start, minutes)


def reminder_schedule(
    created: datetime, due: datetime, points: list[Any]
) -> list[tuple[str, datetime]]:
    """Each valid reminder point (a fraction strictly between 0 and 1) with its time, in order.

    The point is returned as a canonical string ("0.5"): it names the reminder in its
    at-most-once mark, so 0.5 and "0.50" in a policy are the same reminder.
    """
    span = due - created
    found: dict[str, datetime] = {}
    for point in points or []:
        try:
            fraction = float(point)
        except (TypeError, ValueError):
            continue
        if 0 < fraction < 1:
            found[repr(fraction)] = created + span * fraction
    return sorted(found.items(), key=lambda item: item[1])


def reminder_times(created: datetime, due: datetime, points: list[Any]) -> list[datetime]:
    return [at for _, at in reminder_schedule(created, due, points)]


def reminder_due(
    created: datetime, due: datetime, points: list[Any], *, now: datetime
) -> str | None:
    """The latest reminder point whose time has come, or None.

    A sweep that runs late (beat was down) sends only the latest reminder that has passed,
    not a burst of stale ones; the earlier points stay unsent.
    """
    passed = [point for point, at in reminder_schedule(created, due, points) if at <= now]
    return passed[-1] if passed else None
