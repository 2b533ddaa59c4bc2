from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from approvals import routing
from approvals.exceptions import ApprovalError
from approvals.models import Policy, PolicyRule, new_signing_secret

SECRET_ROTATION_GRACE = timedelta(hours=24)


def policy_route_specs(policy: Policy) -> tuple[list[routing.RuleSpec], list[routing.StageSpec]]:
    """The policy's rules and stages as plain values for the pure router (two queries)."""
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
    actor: str = "admin",
) -> Policy:
    """Change one rule's condition (and action) as a new policy version: the what-if's Apply.

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
    if locked.condition == condition and locked.action == action:
        return policy
    locked.condition, locked.action = condition, action
    locked.save(update_fields=["condition", "action"])
    return policy_bump_version(policy=policy, actor=actor)


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
def policy_save_edits(*, policy: Policy, changed: bool) -> Policy:
    """Save a manager's (or an installer's) edits to a policy and its rules, stages, options.

    One save is one new version and one history row, however many inlines changed; nothing
    changed, nothing written. The row lock keeps two concurrent edits from making one version.
    """
    if policy.pk is None:
        policy.save()
        return policy
    if not changed:
        return policy
    current = Policy.objects.select_for_update().values_list("version", flat=True).get(pk=policy.pk)
    policy.version = current + 1
    policy.save()
    return policy
