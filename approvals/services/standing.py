"""Standing approvals: "approve and remember" creates one, a manager revokes one (docs/agents.md).

Using one happens at intake: approval_submit passes the policy's active standing approvals to the
pure router, and the auto decision names the one that matched.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.exceptions import ApprovalError, InvalidDecision
from approvals.models import Decision, DecisionOption, StandingApproval
from approvals.services.approvals import approval_decide
from approvals.services.audit import audit_append
from approvals.standing.selectors import remember_field_choices


class AlreadyRevoked(ApprovalError):
    status_code = 409


@transaction.atomic
def approval_decide_and_remember(
    *,
    approval: Any,
    reviewer: Any,
    option: str,
    fields: list[str],
    duration: str,
    comment: str = "",
    channel: str = Decision.Channel.WEB,
) -> tuple[Decision, StandingApproval]:
    """Approve with a `remember: true` option and create the standing approval, together.

    Steps: check the option remembers, the duration is one of 1h/1d/7d and the fields are
    visible fields of this request (at least one); decide through `approval_decide` (every
    check of a decision applies); create the row with the ticked fields' current values as
    its conditions; write `standing_approval_created` on the request's audit trail.
    """
    chosen = DecisionOption.objects.filter(policy_id=approval.policy_id, key=option).first()
    if chosen is None or not chosen.remember:
        raise InvalidDecision("This option does not remember.", field="option")
    span = StandingApproval.DURATIONS.get(duration)
    if span is None:
        raise InvalidDecision("Choose 1 hour, 1 day or 7 days.", field="remember_for")
    available = dict(remember_field_choices(approval))
    ticked = list(dict.fromkeys(fields))
    if not ticked:
        raise InvalidDecision(
            "Tick at least one field that later requests must match.", field="remember_fields"
        )
    unknown = [name for name in ticked if name not in available]
    if unknown:
        raise InvalidDecision(f"'{unknown[0]}' is not a visible field.", field="remember_fields")
    decision = approval_decide(
        approval=approval,
        reviewer=reviewer,
        option=option,
        comment=comment,
        channel=channel,
    )
    now = timezone.now()
    standing = StandingApproval.objects.create(
        policy_id=approval.policy_id,
        source_request_id=approval.pk,
        conditions={name: available[name] for name in ticked},
        created_by=reviewer,
        created_at=now,
        ends_at=now + span,
    )
    audit_append(
        action="standing_approval_created",
        actor=reviewer.get_username(),
        approval=approval,
        data={
            "standing_approval": standing.pk,
            "conditions": standing.conditions,
            "ends_at": standing.ends_at.isoformat(),
        },
    )
    return decision, standing


@transaction.atomic
def standing_approval_revoke(*, standing: StandingApproval, actor: Any) -> StandingApproval:
    """End a standing approval now; on the audit trail of the request that created it.

    Revoking twice is a polite 409 that keeps the first revocation.
    """
    standing = StandingApproval.objects.select_for_update().get(pk=standing.pk)
    if standing.revoked_at is not None:
        raise AlreadyRevoked(f"Standing approval #{standing.pk} is already revoked.")
    standing.revoked_at = timezone.now()
    standing.revoked_by = actor
    standing.save(update_fields=["revoked_at", "revoked_by"])
    audit_append(
        action="standing_approval_revoked",
        actor=actor.get_username(),
        approval=standing.source_request,
        data={"standing_approval": standing.pk, "conditions": standing.conditions},
    )
    return standing
