"""Bottleneck fatigue: spot a reviewer who has started rubber-stamping.

A reviewer whose last FATIGUE_WINDOW human decisions are nearly all (FATIGUE_MIN_RATIO)
approvals made within FATIGUE_MAX_SECONDS of getting the request (its assignment, claim or
escalation to them) is flagged to managers; new work then goes to others first until a manager
clears the flag. Decisions made before the last clearing do not count again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import DateTimeField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals.models import AuditEntry, Decision, Outcome, ReviewerProfile
from approvals.services.reviewers import reviewer_flag_fatigue

HUMAN_CHANNELS = (Decision.Channel.WEB, Decision.Channel.EMAIL, Decision.Channel.SLACK)
# Audit actions that mark the moment a request reached a reviewer.
RECEIVED_ACTIONS = ("assigned", "claimed", "escalated", "opened")


def _config() -> tuple[int, float, float, int]:
    return (
        settings.FATIGUE_WINDOW,
        float(settings.FATIGUE_MAX_SECONDS),
        settings.FATIGUE_MIN_RATIO,
        settings.FATIGUE_LOOKBACK_HOURS,
    )


def recent_decisions(user: Any, *, window: int, since: Any = None) -> list[Decision]:
    """The user's last `window` human decisions, each annotated with `received_at`."""
    received = (
        AuditEntry.objects.filter(
            approval_id=OuterRef("approval_id"),
            action__in=RECEIVED_ACTIONS,
            at__lte=OuterRef("decided_at"),
        )
        .order_by("-at", "-id")  # not seq: the newest entries may not be sealed yet
        .values("at")[:1]
    )
    decisions = Decision.objects.filter(decided_by=user, channel__in=HUMAN_CHANNELS)
    if since is not None:
        decisions = decisions.filter(decided_at__gt=since)
    return list(
        decisions.annotate(
            received_at=Coalesce(
                Subquery(received, output_field=DateTimeField()), "approval__created_at"
            )
        ).order_by("-decided_at", "-id")[:window]
    )


def fatigue_reason(
    decisions: list[Decision], *, window: int, max_seconds: float, ratio: float
) -> str:
    """Why these decisions look like rubber-stamping, or "" if they don't (pure)."""
    if window <= 0 or len(decisions) < window:
        return ""
    fast_approvals = len(
        [
            decision
            for decision in decisions
            if decision.outcome == Outcome.APPROVE
            and (decision.decided_at - decision.received_at).total_seconds() <= max_seconds  # type: ignore[attr-defined]
        ]
    )
    if fast_approvals < ratio * window:
        return ""
    return (
        f"{fast_approvals} of the last {window} decisions were approvals made within "
        f"{max_seconds:g} s of receiving the request."
    )


def flag_fatigued_reviewers() -> int:
    """Flag every reviewer who now looks fatigued; returns how many were newly flagged.

    Steps: candidates are people with a human decision in the lookback period who are not
    flagged already (bounded by who was active, not by the table); for each, read their last
    window of decisions since their last clearing and flag through `reviewer_flag_fatigue`,
    which audits and tells managers once. Running it twice flags nobody twice.
    """
    window, max_seconds, ratio, lookback_hours = _config()
    since = timezone.now() - timedelta(hours=lookback_hours)
    active_ids = (
        Decision.objects.filter(decided_at__gte=since, channel__in=HUMAN_CHANNELS)
        .exclude(decided_by__isnull=True)
        .values("decided_by_id")
        .distinct()
    )
    flagged_ids = ReviewerProfile.objects.filter(fatigue_flagged_at__isnull=False).values("user_id")
    users = (
        get_user_model()
        .objects.filter(pk__in=active_ids)
        .exclude(pk__in=flagged_ids)
        .select_related("reviewer_profile")
        .order_by("pk")
    )
    flagged = 0
    for user in users:
        profile = getattr(user, "reviewer_profile", None)
        cleared_at = profile.fatigue_cleared_at if profile is not None else None
        decisions = recent_decisions(user, window=window, since=cleared_at)
        reason = fatigue_reason(decisions, window=window, max_seconds=max_seconds, ratio=ratio)
        if reason and reviewer_flag_fatigue(user=user, reason=reason):
            flagged += 1
    return flagged
