"""Bulk triage (docs/api.md "Reviewer pages"): approve or reject a selection of the list with one
comment. Each request is decided by `approval_decide` in its own transaction, so one that
someone else finished meanwhile is named in the answer and the others still go through.

Only Approve and Reject are offered: an option that needs a value, edits the payload or
remembers a standing approval needs the request's own page, and so does "request changes".
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef

from approvals.exceptions import AlreadyDecided, AlreadyVoted, ApprovalError, NotAllowed
from approvals.models import ApprovalRequest, Decision, DecisionOption, Outcome
from approvals.services import approval_decide
from approvals.services.approvals import is_requester
from approvals.services.policies import policy_specs

MAX_BULK = 100
BULK_OUTCOMES = {Outcome.APPROVE.value: "Approve", Outcome.REJECT.value: "Reject"}


class BulkForm(forms.Form):
    """The POST of the bulk bar: which rows, approve or reject, one comment."""

    ids = forms.CharField(required=False)  # read with getlist() in clean_ids
    option = forms.ChoiceField(
        choices=list(BULK_OUTCOMES.items()),
        error_messages={
            "required": "Choose Approve or Reject.",
            "invalid_choice": "Only Approve and Reject can be applied to a selection; "
            "other options need the request's own page.",
        },
    )
    comment = forms.CharField(max_length=10_000, required=False)

    def clean_ids(self) -> list[uuid.UUID]:
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        if not raw:
            raise forms.ValidationError("Select at least one request.")
        try:
            ids = list(dict.fromkeys(uuid.UUID(value) for value in raw))
        except ValueError:
            raise forms.ValidationError("A selected request id is not valid.") from None
        if len(ids) > MAX_BULK:
            raise forms.ValidationError(
                f"Select at most {MAX_BULK} requests at a time ({len(ids)} selected)."
            )
        return ids


@dataclass
class Selection:
    """The selected requests, read in one query: those the reviewer may see, and those that
    have moved on from their groups meanwhile (a later stage, an escalation). `missing` counts
    the rest: unknown, or never their groups' work (the same "not found" as a 404)."""

    rows: list[ApprovalRequest]
    moved: list[ApprovalRequest]
    missing: int


def bulk_rows(*, user: Any, group_ids: list[int], ids: list[uuid.UUID]) -> Selection:
    mine = Decision.objects.filter(approval=OuterRef("pk"), decided_by=user)
    found = (
        ApprovalRequest.objects.filter(pk__in=ids)
        .annotate(voted=Exists(mine))
        .select_related("policy", "assignee")
    )
    by_id: dict[uuid.UUID, ApprovalRequest] = {row.pk: row for row in found}
    rows: list[ApprovalRequest] = []
    moved: list[ApprovalRequest] = []
    groups = set(group_ids)
    for pk in ids:
        row = by_id.get(pk)
        if row is None:
            continue
        if row.assigned_group_id in groups or row.voted:  # type: ignore[attr-defined]
            rows.append(row)
        elif groups & {stage.get("group_id") for stage in row.stage_plan or []}:
            # Once (or later) my groups' work: saying it moved on reveals nothing new.
            moved.append(row)
    return Selection(rows=rows, moved=moved, missing=len(ids) - len(rows) - len(moved))


def bulk_option(approval: ApprovalRequest, outcome: str) -> DecisionOption | None:
    """The policy's one plain option with this outcome (no value, no edits, no remembering):
    the one keyed like the outcome, else the only such option; None when the policy has none
    or several (Use CRM / Use ERP): that request needs its own page."""
    plain = [
        option
        for option in policy_specs(approval.policy).options.values()
        if option.outcome == outcome
        and not (option.needs_value or option.may_edit_payload or option.remember)
    ]
    keyed = [option for option in plain if option.key == outcome]
    if keyed:
        return keyed[0]
    return plain[0] if len(plain) == 1 else None


@dataclass
class BulkResult:
    outcome: str
    decided: list[Decision] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def summary(self) -> str:
        """ "2 approved." or "Nothing was rejected." """
        verb = "approved" if self.outcome == Outcome.APPROVE else "rejected"
        if not self.decided:
            return f"Nothing was {verb}."
        return f"{len(self.decided)} {verb}."

    @property
    def problems(self) -> list[str]:
        """One sentence per kind of failure: "2 were already decided by bob"."""
        return [_sentence(count, reason) for reason, count in self.failures.items()]


def _sentence(count: int, reason: str) -> str:
    # reason reads after "was"/"were", or after "need"/"needs" when it starts with "need ".
    if reason.startswith("need "):
        verb = "needs" if count == 1 else "need"
        return f"{count} {verb} {reason.removeprefix('need ')}"
    return f"{count} {'was' if count == 1 else 'were'} {reason}"


def _reason(exc: ApprovalError, approval: ApprovalRequest, reviewer: Any) -> str:
    if isinstance(exc, AlreadyDecided):
        if exc.decided_by:
            return f"already decided by {exc.decided_by}"
        return exc.message.rstrip(".").replace("This request is ", "").strip()
    if isinstance(exc, AlreadyVoted):
        return "already voted on by you"
    if isinstance(exc, NotAllowed):
        if is_requester(approval, reviewer):
            return "requested by you (someone else has to approve it)"
        return "no longer yours to decide"
    if exc.field == "comment":
        return "need a comment (write one above)"
    return exc.message.rstrip(".")


def bulk_decide(*, reviewer: Any, selection: Selection, outcome: str, comment: str) -> BulkResult:
    """Decide each request on its own (`approval_decide`, one transaction each) and collect what
    went through and, by reason, what did not. A request a colleague took meanwhile is left to
    them: a selection approves my work and the queue's, never someone else's."""
    result = BulkResult(outcome=outcome)
    for _ in selection.moved:
        result.failures["no longer yours to decide"] += 1
    for approval in selection.rows:
        taker = approval.assignee
        if taker is not None and taker.pk != reviewer.pk and approval.status == "pending":
            result.failures[f"taken by {taker.get_username()}"] += 1
            continue
        option = bulk_option(approval, outcome)
        if option is None:
            result.failures["need deciding on their own page"] += 1
            continue
        try:
            decision = approval_decide(
                approval=approval,
                reviewer=reviewer,
                option=option.key,
                comment=comment,
                channel=Decision.Channel.WEB,
            )
        except ApprovalError as exc:
            result.failures[_reason(exc, approval, reviewer)] += 1
            continue
        result.decided.append(decision)
    return result
