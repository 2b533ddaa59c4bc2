"""State changes of reviewers themselves: out of office, digest opt-in, the fatigue flag.

Each writes the profile and its audit entry in one transaction. Re-routing the work of a
reviewer who is now away is `distribute_work`'s job; these services enqueue it after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import NotifyMode, ReviewerProfile
from approvals.notifications.email import notify_managers_of_fatigue
from approvals.services.after_commit import enqueue_after_commit
from approvals.services.audit import audit_append

log = logging.getLogger(__name__)


def _profile_locked(user: Any) -> ReviewerProfile:
    profile, _ = ReviewerProfile.objects.get_or_create(user=user)
    return ReviewerProfile.objects.select_for_update().get(pk=profile.pk)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@transaction.atomic
def reviewer_set_away(
    *,
    user: Any,
    away_from: datetime | None,
    away_until: datetime | None,
    delegate: Any = None,
    daily_digest: bool | None = None,
    slack_enabled: bool | None = None,
    actor: str | None = None,
) -> ReviewerProfile:
    """Set (or clear, with `away_from=None`) a reviewer's out of office and digest opt-in.

    Validation of the dates and the delegate is the caller's form's job (they need messages
    next to the fields); this stores, audits, and — once committed — has the reviewer's pending
    work re-routed when the away dates have already begun.
    """
    profile = _profile_locked(user)
    profile.away_from = away_from
    profile.away_until = away_until if away_from else None
    profile.delegate = delegate if away_from else None
    if daily_digest is not None:
        profile.daily_digest = daily_digest
    if slack_enabled is not None:
        profile.slack_enabled = slack_enabled
    profile.save()
    audit_append(
        action="away_set" if away_from else "away_cleared",
        actor=actor or user.get_username(),
        data={
            "reviewer": user.get_username(),
            "away_from": _iso(profile.away_from),
            "away_until": _iso(profile.away_until),
            "delegate": profile.delegate.get_username() if profile.delegate else None,
            "daily_digest": profile.daily_digest,
            "slack_enabled": profile.slack_enabled,
        },
    )
    if profile.is_out_of_office():
        # The beat runs distribute_work every minute anyway; this only makes it sooner.
        enqueue_after_commit("distribute_work")
    return profile


@transaction.atomic
def reviewer_set_notices(*, user: Any, actor: str | None = None, **modes: str) -> ReviewerProfile:
    """Set how each kind of notice reaches a reviewer: notify_queue / notify_assigned /
    notify_reminders, each "immediate", "batched" or "off" (docs/notifications.md)."""
    allowed = {"notify_queue", "notify_assigned", "notify_reminders"}
    valid = set(NotifyMode.values)
    bad = [f"{k}={v!r}" for k, v in modes.items() if k not in allowed or v not in valid]
    if bad:
        raise ValueError(f"unknown notice choice: {', '.join(bad)}")
    profile = _profile_locked(user)
    for name, mode in modes.items():
        setattr(profile, name, mode)
    profile.save()
    audit_append(
        action="notices_set",
        actor=actor or user.get_username(),
        data={"reviewer": user.get_username(), **modes},
    )
    return profile


@transaction.atomic
def reviewer_flag_fatigue(*, user: Any, reason: str, actor: str = "system") -> bool:
    """Flag a reviewer for fatigue (rubber-stamping); False if already flagged.

    New work is spread away from a flagged reviewer (see `approvals.assignment`) until a
    manager clears the flag. Managers are emailed once per flag after commit.
    """
    profile = _profile_locked(user)
    if profile.fatigue_flagged_at is not None:
        return False
    profile.fatigue_flagged_at = timezone.now()
    profile.fatigue_reason = reason[:300]
    profile.save()
    audit_append(
        action="fatigue_flagged",
        actor=actor,
        data={"reviewer": user.get_username(), "reason": profile.fatigue_reason},
    )
    user_id, flagged_at = user.pk, profile.fatigue_flagged_at

    def tell_managers() -> None:
        try:
            notify_managers_of_fatigue(user_id=user_id, flagged_at=flagged_at)
        except Exception:
            log.warning("could not email managers about %s", user_id, exc_info=True)

    transaction.on_commit(tell_managers)
    return True


@transaction.atomic
def reviewer_clear_fatigue(*, user: Any, actor: str) -> bool:
    """A manager clears a fatigue flag; only decisions made after this count towards a new one."""
    profile = _profile_locked(user)
    if profile.fatigue_flagged_at is None:
        return False
    reason = profile.fatigue_reason
    profile.fatigue_flagged_at = None
    profile.fatigue_reason = ""
    profile.fatigue_cleared_at = timezone.now()
    profile.save()
    audit_append(
        action="fatigue_cleared",
        actor=actor,
        data={"reviewer": user.get_username(), "reason": reason},
    )
    return True
