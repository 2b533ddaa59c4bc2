from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from approvals import routing
from approvals.exceptions import ApprovalError
from approvals.models import (
    DecisionOption,
    Policy,
    PolicyRule,
    PolicyStage,
    ReviewerGroup,
    new_signing_secret,
)

log = logging.getLogger(__name__)

SECRET_ROTATION_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class PolicySpecs:
    """What intake and deciding read of a policy version: rules, stages, options by key."""

    rules: list[routing.RuleSpec]
    stages: list[routing.StageSpec]
    options: dict[str, DecisionOption]


# Specs per (policy id, version, created_at) in process memory: a change to rules, stages or
# options makes a new version (policy_save_edits, policy_bump_version), so a cached version never
# goes stale in another process; in this one the signals below also empty it on any edit.
_SPECS: dict[tuple[int, int, datetime], PolicySpecs] = {}
_SPECS_LOCK = threading.Lock()
_SPECS_MAX = 512


# Active policies by slug in process memory, each with the (id, version, is_active, updated_at)
# it was loaded at: intake checks that stamp with one small indexed query instead of loading the
# row (and decrypting its signing secrets) every time. Every save moves updated_at and every
# edit of rules, stages or options the version, so a changed policy is reloaded at once in
# every process (docs/performance.md "Cached reads").
_ACTIVE: dict[str, tuple[tuple[Any, ...], Policy]] = {}
_STAMP_SQL = (
    f"SELECT id, version, is_active, updated_at FROM {Policy._meta.db_table}"  # noqa: S608
    " WHERE slug = %s"
)


def active_policy(slug: str) -> Policy | None:
    """The active policy `slug`, or None; a shared instance: read it, never change it."""
    with connection.cursor() as cursor:
        cursor.execute(_STAMP_SQL, [slug])
        stamp = cursor.fetchone()
    if stamp is None or not stamp[2]:
        return None
    found = _ACTIVE.get(slug)
    if found is not None and found[0] == tuple(stamp):
        return found[1]
    policy = Policy.objects.filter(pk=stamp[0], is_active=True).first()
    if policy is not None:
        with _SPECS_LOCK:
            if len(_ACTIVE) >= _SPECS_MAX:
                _ACTIVE.clear()
            _ACTIVE[slug] = (tuple(stamp), policy)
    return policy


def policy_specs(policy: Policy) -> PolicySpecs:
    """The policy version's specs, loaded once per process (three queries the first time)."""
    key = (policy.pk, policy.version, policy.created_at)
    found = _SPECS.get(key)
    if found is None:
        rules, stages = _load_route_specs(policy)
        options = {o.key: o for o in DecisionOption.objects.filter(policy_id=policy.pk)}
        found = PolicySpecs(rules=rules, stages=stages, options=options)
        with _SPECS_LOCK:
            if len(_SPECS) >= _SPECS_MAX:
                _SPECS.clear()
            _SPECS[key] = found
    return found


@receiver(post_save, sender=Policy)
@receiver(post_delete, sender=Policy)
@receiver(post_save, sender=PolicyRule)
@receiver(post_delete, sender=PolicyRule)
@receiver(post_save, sender=PolicyStage)
@receiver(post_delete, sender=PolicyStage)
@receiver(post_save, sender=DecisionOption)
@receiver(post_delete, sender=DecisionOption)
@receiver(post_save, sender=ReviewerGroup)  # a stage carries its group's slug
def forget_policy_specs(**kwargs: Any) -> None:
    with _SPECS_LOCK:
        _SPECS.clear()
        _ACTIVE.clear()


# The inbox's filter menus (approvals/inbox/selectors.py `filter_choices`) are kept in the shared
# cache under this version; a change to a policy, a stage or a group replaces it, in every
# process at once. Replaced now (the rest of this transaction reads the change) and again after
# the commit: a page that read the old rows in between is stored under the version it read.
FILTER_CHOICES_VERSION = "inbox:filter-choices:version"


def filter_choices_version() -> str:
    return uuid.uuid4().hex


@receiver(post_save, sender=Policy)
@receiver(post_delete, sender=Policy)
@receiver(post_save, sender=PolicyStage)
@receiver(post_delete, sender=PolicyStage)
@receiver(post_save, sender=ReviewerGroup)
@receiver(post_delete, sender=ReviewerGroup)
def forget_filter_choices(**kwargs: Any) -> None:
    def replace() -> None:
        try:
            cache.set(FILTER_CHOICES_VERSION, filter_choices_version(), None)
        except Exception:  # a cache outage must not fail the save: menus catch up in 5 min
            log.warning("cache unavailable: the inbox filter menus may lag", exc_info=True)

    replace()
    transaction.on_commit(replace)


def policy_route_specs(policy: Policy) -> tuple[list[routing.RuleSpec], list[routing.StageSpec]]:
    """The policy's rules and stages as plain values for the pure router (cached per version)."""
    specs = policy_specs(policy)
    return specs.rules, specs.stages


def _load_route_specs(policy: Policy) -> tuple[list[routing.RuleSpec], list[routing.StageSpec]]:
    rules = [
        routing.RuleSpec(name=rule.name, condition=rule.condition, action=rule.action)
        for rule in policy.rules.all().order_by("position", "id")
    ]
    stages = [
        routing.StageSpec(
            position=stage.position,
            group_id=stage.group_id,
            group=stage.group.slug,
            quorum=stage.quorum,
            quorum_count=stage.quorum_count,
            condition=stage.condition,
        )
        for stage in policy.stages.select_related("group").order_by("position", "id")
    ]
    return rules, stages


@transaction.atomic
def policy_bump_version(*, policy: Policy, actor: str = "admin") -> Policy:
    """A change to rules, stages or options makes a new version; requests keep the old one."""
    Policy.objects.filter(pk=policy.pk).update(version=F("version") + 1, updated_at=timezone.now())
    policy.refresh_from_db(fields=["version", "updated_at"])
    # A history row for the new version, so the admin's history shows every bump.
    policy.save(update_fields=["version", "updated_at"])
    return policy


@transaction.atomic
def policy_update_rule(
    *,
    policy: Policy,
    rule: PolicyRule,
    condition: Any,
    action: str | None = None,
    summary: str | None = None,
    actor: str = "admin",
) -> Policy:
    """Change one rule's condition (and action) as a new policy version: the what-if's Apply.

    `summary`, when given and different, replaces the policy's summary in the same version;
    otherwise the summary is now older than the rules and flagged as possibly stale.
    Requests already routed keep their version. Nothing changed, nothing written. Raises
    ApprovalError for a rule of another policy or a malformed condition or action.
    """
    problem = routing.condition_problem(condition)
    if problem:
        raise ApprovalError(problem, field="condition")
    action = action or rule.action
    if action not in PolicyRule.Action.values:
        raise ApprovalError(f"Unknown action {action!r}.", field="action")
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    locked = PolicyRule.objects.select_for_update().filter(pk=rule.pk, policy=policy).first()
    if locked is None:
        raise ApprovalError("That rule is not one of this policy's rules.", field="rule")
    summary_changed = summary is not None and summary.strip() != policy.summary.strip()
    rule_changed = not (locked.condition == condition and locked.action == action)
    if not rule_changed and not summary_changed:
        return policy
    now = timezone.now()
    if rule_changed:
        locked.condition, locked.action = condition, action
        locked.save(update_fields=["condition", "action"])
        policy.rules_updated_at = now
    if summary_changed:
        assert summary is not None
        policy.summary, policy.summary_updated_at = summary.strip(), now
    policy.version += 1
    policy.save()
    return policy


@transaction.atomic
def policy_rotate_secret(*, policy: Policy) -> Policy:
    """A new signing secret; the old one keeps signing beside it for 24 hours (docs/api.md "Commands")."""
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    policy.previous_signing_secret = policy.signing_secret
    policy.previous_secret_expires_at = timezone.now() + SECRET_ROTATION_GRACE
    policy.signing_secret = new_signing_secret()
    policy.save(
        update_fields=[
            "signing_secret",
            "previous_signing_secret",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    return policy


@transaction.atomic
def policy_save_edits(
    *,
    policy: Policy,
    changed: bool,
    rules_changed: bool = False,
    summary_changed: bool = False,
) -> Policy:
    """Save a manager's (or an installer's) edits to a policy and its rules, stages, options.

    One save is one new version and one history row, however many inlines changed; nothing
    changed, nothing written. The row lock keeps two concurrent edits from making one version.
    `rules_changed` (rules or stages) and `summary_changed` stamp when each was last written,
    so a summary older than the rules shows as possibly stale (`Policy.summary_is_stale`).
    """
    now = timezone.now()
    if policy.pk is None:
        policy.summary_updated_at = policy.rules_updated_at = now
        policy.save()
        return policy
    if not changed:
        return policy
    current = Policy.objects.select_for_update().values_list("version", flat=True).get(pk=policy.pk)
    policy.version = current + 1
    if rules_changed:
        policy.rules_updated_at = now
    if summary_changed:
        policy.summary_updated_at = now
    policy.save()
    return policy
