"""What-if on a threshold: replay recent requests against a changed rule (docs/architecture.md: thresholds
get better from the decisions made).

A manager picks a policy and one of its rules, edits the rule's condition (say `amount < 80`
instead of `< 50`) or action, and replays the last N days of that policy's requests through the
pure router (approvals.routing) with the change in place. The page reports how many more
requests would have been decided automatically, and what the humans actually did with those:
rejected them, requested changes, edited the payload, or approved them as they were. "Apply"
makes the change a new policy version through `policy_update_rule`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from approvals import routing, rulebuilder
from approvals.admin import charts
from approvals.exceptions import ApprovalError
from approvals.models import ApprovalRequest, Policy, PolicyRule, Route
from approvals.services.policies import policy_route_specs, policy_update_rule

Status = ApprovalRequest.Status
MAX_DAYS = 365
EXAMPLES_SHOWN = 10
VIEW_PERMISSION = "approvals.view_policy"
APPLY_PERMISSION = "approvals.change_policy"


@dataclass
class WhatIfResult:
    """Counts over the replayed requests; `newly_auto` is broken down by what humans did."""

    days: int
    replayed: int = 0
    auto_before: int = 0
    auto_after: int = 0
    newly_auto: int = 0  # went to a human, the changed rule would decide them
    newly_human: int = 0  # were decided by a rule, would now go to a human
    auto_flipped: int = 0  # auto either way, but approve <-> reject
    human_rejected: int = 0
    human_changes_requested: int = 0
    human_edited: int = 0  # approved, with the payload edited on the way
    human_approved: int = 0  # approved exactly as submitted
    undecided: int = 0  # still pending, expired or cancelled
    overruled: int = 0  # of newly_auto: the human's outcome differs from the rule's action
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def more_auto(self) -> int:
        return self.auto_after - self.auto_before


_VERDICT_FIELD = {
    "approved": "human_approved",
    "edited": "human_edited",
    "rejected": "human_rejected",
    "changes_requested": "human_changes_requested",
    "undecided": "undecided",
}


VERDICT_TEXT = {
    "approved": "approved it as submitted",
    "edited": "approved it with edits",
    "rejected": "rejected it",
    "changes_requested": "requested changes",
    "undecided": "has not decided it",
}


def _human_verdict(status: str, edited: bool) -> str:
    if status == Status.APPROVED:
        return "edited" if edited else "approved"
    if status == Status.REJECTED:
        return "rejected"
    if status == Status.CHANGES_REQUESTED:
        return "changes_requested"
    return "undecided"


def whatif_replay(
    *,
    policy: Policy,
    rule: PolicyRule,
    condition: Any,
    action: str,
    days: int,
    now: datetime | None = None,
) -> WhatIfResult:
    """Route each request of the last `days` again with `rule` changed, and compare.

    Steps: load the policy's rules and stages as plain specs (2 queries) and swap the changed
    rule in; stream the window's requests (payload as submitted, route, status, and whether a
    reviewer edited the payload) in chunks; route each through the pure router; count.
    """
    now = now or timezone.now()
    rules, stages = policy_route_specs(policy)
    ordered = list(policy.rules.order_by("position", "id").values_list("pk", flat=True))
    changed = routing.RuleSpec(name=rule.name, condition=condition, action=action)
    rules = [changed if pk == rule.pk else spec for pk, spec in zip(ordered, rules, strict=True)]

    result = WhatIfResult(days=days)
    requests = (
        ApprovalRequest.objects.filter(policy=policy, created_at__gte=now - timedelta(days=days))
        .order_by("created_at", "id")
        .values_list(
            "id", "title", "route", "status", "submitted_payload", "payload", "previous_id"
        )
    )
    for pk, title, route, status, submitted, payload, previous in requests.iterator(
        chunk_size=2000
    ):
        result.replayed += 1
        was_auto = route == Route.AUTO
        # A resubmission goes to a person under any rule, as it did at intake.
        now_route = routing.route(rules, stages, submitted, resubmission=previous is not None)
        result.auto_before += was_auto
        result.auto_after += now_route.is_auto
        if was_auto and not now_route.is_auto:
            result.newly_human += 1
        elif was_auto and now_route.is_auto:
            auto_outcome = Status.APPROVED if now_route.action == "approve" else Status.REJECTED
            result.auto_flipped += status != auto_outcome
        elif now_route.is_auto:
            result.newly_auto += 1
            verdict = _human_verdict(status, edited=payload != submitted)
            counter = _VERDICT_FIELD[verdict]
            setattr(result, counter, getattr(result, counter) + 1)
            agrees = (now_route.action == "approve" and verdict == "approved") or (
                now_route.action == "reject" and verdict == "rejected"
            )
            if verdict != "undecided" and not agrees:
                result.overruled += 1
                if len(result.examples) < EXAMPLES_SHOWN:
                    result.examples.append(
                        {
                            "id": pk,
                            "title": title,
                            "verdict": verdict,
                            "verdict_text": VERDICT_TEXT[verdict],
                            "rule": now_route.action,
                        }
                    )
    return result


# --- the admin page ----------------------------------------------------------------------------


def result_charts(result: WhatIfResult) -> dict[str, Any]:
    """Before / after routes, and what people did with the newly automatic ones, as SVG."""
    human_before = result.replayed - result.auto_before
    human_after = result.replayed - result.auto_after
    routes = charts.stacked_bars(
        "Automatic versus human, before and after the change",
        [
            (
                "As it happened",
                [
                    charts.Segment(result.auto_before, charts.GOOD, "automatic"),
                    charts.Segment(human_before, charts.LIGHT, "to a human"),
                ],
                f"{result.auto_before} automatic",
            ),
            (
                "With the change",
                [
                    charts.Segment(result.auto_after, charts.GOOD, "automatic"),
                    charts.Segment(human_after, charts.LIGHT, "to a human"),
                ],
                f"{result.auto_after} automatic",
            ),
        ],
    )
    verdicts = charts.stacked_bars(
        "What people did with the requests the rule would now decide",
        [
            (
                "People decided",
                [
                    charts.Segment(result.human_approved, charts.GOOD, "approved as submitted"),
                    charts.Segment(result.human_edited, charts.INK, "approved with edits"),
                    charts.Segment(
                        result.human_changes_requested, charts.LIGHT, "requested changes"
                    ),
                    charts.Segment(result.human_rejected, charts.WARN, "rejected"),
                    charts.Segment(result.undecided, charts.MUTED, "not decided"),
                ],
                f"{result.overruled} of {result.newly_auto} differ",
            )
        ],
    )
    return {
        "routes": routes,
        "legend": charts.legend([("automatic", charts.GOOD), ("to a human", charts.LIGHT)]),
        "verdicts": verdicts,
        "verdicts_legend": charts.legend(
            [
                ("approved as is", charts.GOOD),
                ("approved, edited", charts.INK),
                ("changes", charts.LIGHT),
                ("rejected", charts.WARN),
            ]
        ),
    }


class WhatIfForm(forms.Form):
    policy = forms.ModelChoiceField(queryset=Policy.objects.order_by("name"))
    rule = forms.ModelChoiceField(queryset=PolicyRule.objects.none())
    condition = forms.JSONField(
        help_text='e.g. {"field": "amount", "op": "lt", "value": 80}',
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "class": "cp-code"}),
    )
    action = forms.ChoiceField(choices=PolicyRule.Action.choices)
    days = forms.IntegerField(min_value=1, max_value=MAX_DAYS, initial=30)
    # Only on Apply: the policy's summary, rewritten for the change (blank keeps it as is).
    summary = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)

    def __init__(self, *args: Any, policy: Policy | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if policy is not None:
            rule_field = self.fields["rule"]
            assert isinstance(rule_field, forms.ModelChoiceField)
            rule_field.queryset = policy.rules.order_by("position", "id")

    def clean_condition(self) -> Any:
        condition = self.cleaned_data["condition"]
        problem = routing.condition_problem(condition)
        if problem:
            raise forms.ValidationError(problem)
        return condition


def suggest_summary(summary: str, old: Any, new: Any) -> str:
    """The summary with the rule's old threshold replaced by the new one, when it says it.

    Only for a single comparison whose number changed ("Refunds under 50 …" with 50 → 60);
    anything else is returned unchanged for the manager to rewrite.
    """
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return summary
    before, after = old.get("value"), new.get("value")
    if not (routing._is_number(before) and routing._is_number(after)) or before == after:
        return summary
    if old.get("field") != new.get("field"):
        return summary
    words = [rulebuilder.value_text(before)]
    if isinstance(before, float) and before.is_integer():
        words.append(str(int(before)))
    for word in words:
        pattern = rf"(?<![\w.]){re.escape(word)}(?![\w]|\.\d)"
        if re.search(pattern, summary):
            return re.sub(pattern, rulebuilder.value_text(after), summary)
    return summary


def _chosen_policy(data: Any) -> Policy | None:
    raw = data.get("policy", "")
    return Policy.objects.filter(pk=int(raw)).first() if raw.isdigit() else None


def _initial(policy: Policy, data: Any) -> dict[str, Any]:
    """Defaults for a freshly picked policy: its first rule (or the one asked for), as is."""
    rules = list(policy.rules.order_by("position", "id"))
    raw = data.get("rule", "")
    rule = next(
        (r for r in rules if raw.isdigit() and r.pk == int(raw)), rules[0] if rules else None
    )
    initial: dict[str, Any] = {"policy": policy.pk, "days": 30}
    if rule is not None:
        initial.update(rule=rule.pk, condition=rule.condition, action=rule.action)
    return initial


def whatif_view(request: HttpRequest, site: AdminSite) -> HttpResponse:
    """GET: pick a policy and a rule, change it, replay. POST: apply it as a new version."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    policy = _chosen_policy(data)
    status, result = 200, None
    if policy is not None and "condition" in data:
        form = WhatIfForm(data, policy=policy)
        if form.is_valid():
            if request.method == "POST":
                return _apply(request, form)
            result = whatif_replay(
                policy=policy,
                rule=form.cleaned_data["rule"],
                condition=form.cleaned_data["condition"],
                action=form.cleaned_data["action"],
                days=form.cleaned_data["days"],
            )
        else:
            status = 400
    elif request.method == "POST" or ("policy" in data and policy is None):
        form, status = WhatIfForm(data), 400
        form.is_valid()
    else:
        form = WhatIfForm(initial=_initial(policy, data) if policy else {}, policy=policy)
    context = {
        **site.each_context(request),
        "title": "What-if on a threshold",
        "form": form,
        "policy": policy,
        "rules": [
            {
                "rule": rule,
                "condition": json.dumps(rule.condition, ensure_ascii=False),
                "sentence": rulebuilder.describe_rule(rule.action, rule.condition),
            }
            for rule in (policy.rules.order_by("position", "id") if policy else [])
        ],
        "result": result,
        "charts": result_charts(result) if result else None,
        "suggested_summary": (
            suggest_summary(
                policy.summary,
                form.cleaned_data["rule"].condition,
                form.cleaned_data["condition"],
            )
            if result and policy
            else ""
        ),
        "rule_sentence": (
            rulebuilder.describe_rule(form.cleaned_data["action"], form.cleaned_data["condition"])
            if result
            else ""
        ),
        "can_apply": request.user.has_perm(APPLY_PERMISSION),
    }
    return render(request, "admin/approvals/whatif.html", context, status=status)


def _apply(request: HttpRequest, form: WhatIfForm) -> HttpResponse:
    if not request.user.has_perm(APPLY_PERMISSION):
        raise PermissionDenied
    policy, rule = form.cleaned_data["policy"], form.cleaned_data["rule"]
    summary = form.cleaned_data.get("summary", "").strip()
    try:
        policy = policy_update_rule(
            policy=policy,
            rule=rule,
            condition=form.cleaned_data["condition"],
            action=form.cleaned_data["action"],
            summary=summary or None,
            actor=request.user.get_username(),
        )
    except ApprovalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Rule “{rule.name}” changed: {policy.name} is now at version {policy.version}.",
        )
        if policy.summary_is_stale:
            messages.warning(
                request,
                "The summary was written before this change: check that it still says what "
                "the policy does.",
            )
    return redirect(reverse("admin:approvals_policy_change", args=[policy.pk]))
