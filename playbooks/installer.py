"""Install the ready-made playbooks (playbooks/definitions/*.json) as policies.

A definition is plain data; installing it creates or updates the policy, its rules, stages and
decision options, and the reviewer groups it routes to. Installing is idempotent: when the
database already matches the definition nothing is written and the version stays; when the
definition changed, the policy is updated and its version bumps once.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from approvals.models import DecisionOption, Policy, PolicyRule, PolicyStage, ReviewerGroup
from approvals.services.policies import policy_save_edits

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

# Policy columns a definition sets, in the definition's own key names.
POLICY_FIELDS = (
    "name",
    "summary",
    "payload_schema",
    "visible_fields",
    "editable_fields",
    "sla_minutes",
    "reminder_points",
    "expire_after_minutes",
    "expiry_action",
)
OPTION_FIELDS = (
    "key",
    "label",
    "outcome",
    "needs_comment",
    "needs_value",
    "may_edit_payload",
    "remember",
    "remember_fields",
)
# What an option key left out of a definition means.
OPTION_DEFAULTS: dict[str, Any] = {"remember_fields": []}


class UnknownPlaybook(LookupError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"Unknown playbook {slug!r}; choose from: {', '.join(playbook_slugs())}.")


def playbook_slugs() -> list[str]:
    return sorted(path.stem for path in DEFINITIONS_DIR.glob("*.json"))


@cache
def load_definition(slug: str) -> dict[str, Any]:
    if slug not in playbook_slugs():
        raise UnknownPlaybook(slug)
    definition: dict[str, Any] = json.loads((DEFINITIONS_DIR / f"{slug}.json").read_text())
    return definition


def _ensure_groups(definition: dict[str, Any]) -> dict[str, ReviewerGroup]:
    # Name and strategy are set when the group is created only: afterwards they are the
    # managers' to change in the admin, and re-installing must not undo their choice.
    groups = {}
    for spec in definition["groups"]:
        group, _ = ReviewerGroup.objects.get_or_create(
            slug=spec["slug"], defaults={"name": spec["name"], "strategy": spec["strategy"]}
        )
        groups[group.slug] = group
    return groups


def _rules_wanted(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "position": index,
            "name": rule["name"],
            "condition": rule["condition"],
            "action": rule["action"],
        }
        for index, rule in enumerate(definition["rules"], start=1)
    ]


def _stages_wanted(
    definition: dict[str, Any], groups: dict[str, ReviewerGroup]
) -> list[dict[str, Any]]:
    return [
        {
            "position": index,
            "name": stage.get("name", ""),
            "group_id": groups[stage["group"]].pk,
            "quorum": stage.get("quorum", "one"),
            "quorum_count": stage.get("quorum_count", 1),
            "condition": stage.get("condition"),
        }
        for index, stage in enumerate(definition["stages"], start=1)
    ]


def _options_wanted(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "position": index,
            **{name: option.get(name, OPTION_DEFAULTS.get(name, False)) for name in OPTION_FIELDS},
        }
        for index, option in enumerate(definition["options"], start=1)
    ]


def _current(queryset: Any, fields: list[str]) -> list[dict[str, Any]]:
    return list(queryset.order_by("position", "id").values(*fields))


@transaction.atomic
def install_playbook(slug: str) -> Policy:
    """Create or update the playbook's policy; bump its version only when something changed.

    Steps: load the definition; make sure its groups exist; create the policy (version 1) or
    compare each field and each list of rules, stages and options with the database; replace
    the lists that differ; save once through the policy service, which bumps the version.
    Rows are created one by one (not bulk) so simple-history records each of them.
    """
    definition = load_definition(slug)
    groups = _ensure_groups(definition)
    rules = _rules_wanted(definition)
    stages = _stages_wanted(definition, groups)
    options = _options_wanted(definition)

    policy = Policy.objects.select_for_update().filter(slug=slug).first()
    created = policy is None
    if policy is None:
        policy = Policy(slug=slug)
    changed = False
    for name in POLICY_FIELDS:
        if getattr(policy, name) != definition[name]:
            setattr(policy, name, definition[name])
            changed = True
    if created:
        policy_save_edits(policy=policy, changed=True)

    if _current(policy.rules, list(rules[0]) if rules else ["position"]) != rules:
        policy.rules.all().delete()
        for rule in rules:
            PolicyRule.objects.create(policy=policy, **rule)
        changed = True
    if _current(policy.stages, list(stages[0])) != stages:
        policy.stages.all().delete()
        for stage in stages:
            PolicyStage.objects.create(policy=policy, **stage)
        changed = True
    if _current(policy.options, list(options[0])) != options:
        # Decisions keep the option's key and label as text, so replacing rows loses nothing.
        policy.options.all().delete()
        for option in options:
            DecisionOption.objects.create(policy=policy, **option)
        changed = True

    if not created:
        policy_save_edits(
            policy=policy, changed=changed, rules_changed=changed, summary_changed=changed
        )
    return policy


def install_all() -> list[Policy]:
    return [install_playbook(slug) for slug in playbook_slugs()]
