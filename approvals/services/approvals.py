"""Every change of an ApprovalRequest.

Each function owns one transaction and writes, together: the new state, the Decision row (if
any), the audit entry and the outbox event. Views, the API, email links, tasks and the admin
call these; none of them changes a request by itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from approvals import routing
from approvals.exceptions import (
    AlreadyDecided,
    AlreadyVoted,
    DuplicateOpenRequest,
    IllegalTransition,
    InvalidDecision,
    NotAllowed,
)
from approvals.formats import search_text
from approvals.foureyes import (
    is_requester,
    requester_email_from,
    requester_of,
    requester_sql,
    verified_email_sql,
)
from approvals.history import SaveWithHistory
from approvals.ids import uuid_param
from approvals.models import (
    ApprovalRequest,
    Decision,
    DecisionOption,
    Membership,
    Outcome,
    Policy,
    ReviewerGroup,
    Route,
)
from approvals.rows import JoinedRead, ModelColumns, RowInsert
from approvals.services.audit import AuditDraft, audit_append, audit_record
from approvals.services.notices import queue_notice
from approvals.services.outbox import outbox_enqueue
from approvals.services.policies import policy_specs
from approvals.sla.clock import add_working_minutes, reminder_times
from approvals.slack.hooks import slack_after_commit
from approvals.standing.selectors import policy_standing_specs
from approvals.workload.assignment import choose_assignment

Status = ApprovalRequest.Status

FINAL_EVENT: dict[str, str] = {
    Status.APPROVED: "request.decided",
    Status.REJECTED: "request.decided",
    Status.CHANGES_REQUESTED: "request.changes_requested",
    Status.EXPIRED: "request.expired",
    Status.CANCELLED: "request.cancelled",
}
OUTCOME_STATUS: dict[str, str] = {
    Outcome.APPROVE: Status.APPROVED,
    Outcome.REJECT: Status.REJECTED,
    Outcome.REQUEST_CHANGES: Status.CHANGES_REQUESTED,
}


# --- helpers (private: called only inside a service's transaction) ---------------------------


# A decision's locked read: the whole row and its policy, in plain SQL built once
# (approvals/rows.py); `FOR UPDATE OF r` keeps the policy row unlocked.
_DECISION_READ = JoinedRead(
    ApprovalRequest,
    [
        *(field.name for field in ApprovalRequest._meta.concrete_fields),
        *(f"policy__{field.name}" for field in Policy._meta.concrete_fields),
    ],
)


def lock_approval(approval: ApprovalRequest, *, for_decision: bool = False) -> ApprovalRequest:
    """Re-read the row under a lock, so two deciders (or a decider and the sweep) serialise.

    Only inside a service's transaction; `of=("self",)` keeps the joined rows unlocked. A
    decision (`for_decision`) reads only the policy of the joined rows.
    """
    if for_decision:
        lock = " FOR UPDATE OF r" if connection.features.has_select_for_update_of else ""
        found = _DECISION_READ.one("r.id = %s", [uuid_param(approval.pk)], suffix=lock)
        if found is None:
            raise ApprovalRequest.DoesNotExist("ApprovalRequest matching query does not exist.")
        return found
    locked = ApprovalRequest.objects.select_for_update(of=("self",))
    locked = locked.select_related("policy", "assigned_group", "assignee")
    return locked.get(pk=approval.pk)


def _lock_pending(approval: ApprovalRequest, *, for_decision: bool = False) -> ApprovalRequest:
    """Lock the row and refuse politely if someone already finished it."""
    approval = lock_approval(approval, for_decision=for_decision)
    if approval.status != Status.PENDING:
        raise already_decided(approval)
    return approval


def _move(approval: ApprovalRequest, status: str) -> None:
    if not approval.can_move_to(status):
        raise IllegalTransition(
            f"A request that is {approval.get_status_display().lower()} cannot become {status}."
        )
    approval.status = status


def already_decided(approval: ApprovalRequest) -> AlreadyDecided:
    """The error for a request that is no longer pending, naming who finished it and when:
    "Already decided by alice at 2026-03-01 10:02 (approved)." (times in TIME_ZONE)."""
    last = approval.decisions.filter(is_final=True).order_by("-decided_at", "-id").first()
    if last is None:
        return AlreadyDecided(f"This request is already {approval.get_status_display().lower()}.")
    stamp = timezone.localtime(last.decided_at).strftime("%Y-%m-%d %H:%M")
    return AlreadyDecided(
        f"Already decided by {last.decided_by_name} at {stamp} "
        f"({approval.get_status_display().lower()}).",
        decided_by=last.decided_by_name,
        decided_at=last.decided_at,
    )


def _schedule_sla(approval: ApprovalRequest, *, start: datetime) -> None:
    """Set due_at (unless the caller fixed it), expiry and the sweep's next check point."""
    policy = approval.policy
    if not approval.due_at_overridden:
        approval.due_at = (
            add_working_minutes(approval.assigned_group, start, policy.sla_minutes)
            if policy.sla_minutes
            else None
        )
    approval.expires_at = (
        add_working_minutes(approval.assigned_group, approval.due_at, policy.expire_after_minutes)
        if approval.due_at and policy.expire_after_minutes
        else None
    )
    approval.next_sla_check_at = next_sla_check(approval, after=start)


def next_sla_check(approval: ApprovalRequest, *, after: datetime) -> datetime | None:
    """The earliest reminder, escalation or expiry still ahead of `after`; None if none is."""
    if approval.due_at is None:
        return None
    candidates = [
        t
        for t in reminder_times(
            approval.created_at, approval.due_at, approval.policy.reminder_points
        )
        if t > after
    ]
    # A due time or expiry already in the past is still returned: the sweep acts on it at once.
    if not approval.escalated:
        candidates.append(approval.due_at)
    if approval.expires_at:
        candidates.append(approval.expires_at)
    return min(candidates) if candidates else None


def changes_asker_id(previous_id: Any) -> int | None:
    """Who asked for the changes a resubmission answers: the reviewer behind the previous
    revision's request-changes decision (None when it was not a person)."""
    return (
        Decision.objects.filter(
            approval_id=previous_id, outcome=Outcome.REQUEST_CHANGES, decided_by__isnull=False
        )
        .order_by("-decided_at", "-id")
        .values_list("decided_by_id", flat=True)
        .first()
    )


# Fixed SQL on the write path (intake, stage advance, escalation): a third of the CPU the
# ORM spends building the same SELECT. Its columns are named, never `*`: a statement that a
# connection has prepared must not change its result's shape when a migration adds a column.
_GROUP_SQL = (
    f"SELECT {ModelColumns(ReviewerGroup, 'g').sql} FROM {ReviewerGroup._meta.db_table} g"  # noqa: S608
    " WHERE g.id = %s"
)


def _assign_stage(
    approval: ApprovalRequest, *, actor: str, start: datetime, prefer_user_id: int | None = None
) -> AuditDraft | None:
    """Pick the current stage's group and member and set the SLA, on the unsaved row; returns
    the `assigned` entry for the caller's audit batch (None when the stage has no group).

    `prefer_user_id`: a resubmission goes back to the reviewer who asked for the changes when
    they are an available member of this stage's group (docs/architecture.md "The
    request-changes loop"); otherwise the group's strategy picks as usual."""
    stage = approval.current_stage
    group = (
        next(iter(ReviewerGroup.objects.raw(_GROUP_SQL, [stage["group_id"]])), None)
        if stage
        else None
    )
    if group is None:
        approval.assigned_group = None
        approval.assignee = None
        return None
    # Only a later stage can have voters to leave out; a new request has none (saves a query).
    voted = (
        set()
        if approval.stage <= 1
        else set(
            approval.decisions.filter(decided_by__isnull=False).values_list(
                "decided_by_id", flat=True
            )
        )
    )
    # Four-eyes: the requester is left out in the same statement (docs/security.md).
    choice = choose_assignment(
        group,
        exclude_user_ids=voted,
        at=start,
        prefer_user_id=prefer_user_id,
        requester=requester_of(approval),
    )
    approval.assigned_group = choice.group
    approval.assignee = choice.assignee
    approval.assigned_at = start
    _schedule_sla(approval, start=start)
    _notify_after_commit(approval, kind="assigned")
    return AuditDraft(
        action="assigned",
        actor=actor,
        approval=approval,
        data={
            "stage": approval.stage,
            "group": choice.group.slug,
            "assignee": choice.assignee.get_username() if choice.assignee else None,
            "strategy": choice.group.strategy,
            **(
                {"returned_to_asker": True}
                if prefer_user_id is not None
                and choice.assignee is not None
                and choice.assignee.pk == prefer_user_id
                else {}
            ),
        },
    )


def _set_assignee(
    approval: ApprovalRequest, *, group: ReviewerGroup, assignee: Any, at: datetime
) -> None:
    """A hand-picked assignee (assign, claim): the member's round-robin stamp moves too."""
    approval.assigned_group = group
    approval.assignee = assignee
    approval.assigned_at = at
    if assignee is not None:
        Membership.objects.filter(group=group, user=assignee).update(last_assigned_at=at)


def _notify_after_commit(approval: ApprovalRequest, *, kind: str) -> None:
    queue_notice(approval, kind)
    slack_after_commit(approval, kind)


def _final_entry(approval: ApprovalRequest, *, actor: str) -> AuditDraft:
    return AuditDraft(
        action=approval.status,
        actor=actor,
        approval=approval,
        data={"status": approval.status, "stage": approval.stage},
    )


# The request's INSERT or UPDATE and its history row's INSERT, built once
# (approvals/history.py).
_REQUEST_SAVE = SaveWithHistory(ApprovalRequest)

# What `_finish` itself sets (updated_at: auto_now, written only when named).
FINAL_FIELDS = ("status", "decided_at", "next_sla_check_at", "updated_at")


def _finish(
    approval: ApprovalRequest,
    *,
    status: str,
    decision: Decision | None,
    actor: str,
    audit: list[AuditDraft] | None = None,
    changed: tuple[str, ...] | None = None,
) -> None:
    """Move to a final status, save, record the change's audit batch (`audit`, then the final
    status) in one insert, and write the event that tells the caller. `changed`: the only
    other fields the caller set (then the UPDATE writes just those and the final ones)."""
    _move(approval, status)
    approval.decided_at = timezone.now()
    approval.next_sla_check_at = None
    if changed is None:
        approval.save()
    else:
        _REQUEST_SAVE.update(approval, [*FINAL_FIELDS, *changed])
    audit_record([*(audit or []), _final_entry(approval, actor=actor)])
    outbox_enqueue(approval=approval, event_type=FINAL_EVENT[status], decision=decision)
    slack_after_commit(approval, "final")


# A vote's INSERT, built once (approvals/rows.py): decisions have no signals or history.
_DECISION_INSERT = RowInsert(Decision)


def _record_decision(
    approval: ApprovalRequest,
    *,
    outcome: str,
    channel: str,
    decided_by: Any = None,
    decided_by_name: str,
    option: DecisionOption | None = None,
    value: str = "",
    comment: str = "",
    payload_changes: dict[str, Any] | None = None,
    rule: str = "",
    is_final: bool,
) -> tuple[Decision, AuditDraft]:
    """Insert the Decision (complete: `is_final` is known before the row is written) and return
    it with its `decided` entry for the caller's audit batch."""
    decision = Decision(
        approval=approval,
        stage=approval.stage,
        outcome=outcome,
        option=option.key if option else "",
        option_label=option.label if option else "",
        value=value,
        comment=comment,
        decided_by=decided_by,
        decided_by_name=decided_by_name,
        channel=channel,
        decided_at=timezone.now(),
        payload_changes=payload_changes or {},
        policy_version=approval.policy_version,
        rule=rule,
        is_final=is_final,
    )
    _DECISION_INSERT.insert([decision])
    return decision, AuditDraft(
        action="decided", actor=decided_by_name, approval=approval, decision=decision
    )


# --- intake ---------------------------------------------------------------------------------------


def _open_duplicate(
    policy: Policy, external_id: str, caller: str = ""
) -> DuplicateOpenRequest | None:
    """The 409 for a second open request of this caller with this external id; None when none
    is open. External ids are the caller's own: another caller may use the same one."""
    existing = (
        ApprovalRequest.objects.filter(
            policy=policy, caller=caller, external_id=external_id, status=Status.PENDING
        )
        .values_list("pk", flat=True)
        .first()
    )
    return _duplicate(existing, external_id) if existing is not None else None


def _duplicate(existing: Any, external_id: str) -> DuplicateOpenRequest:
    return DuplicateOpenRequest(
        f"Request {existing} for external_id {external_id!r} is still open.",
        existing_id=str(existing),
    )


def _is_duplicate_open(exc: IntegrityError) -> bool:
    # PostgreSQL names the constraint; SQLite names its columns.
    text = str(exc)
    return "request_one_open_per_external_id" in text or "external_id" in text


def approval_submit(
    *,
    policy: Policy,
    title: str,
    payload: dict[str, Any],
    summary: str = "",
    external_id: str = "",
    callback_url: str = "",
    requested_by: str = "",
    due_at: datetime | None = None,
    previous: ApprovalRequest | None = None,
    actor: str = "api",
    caller: str = "",
    requester_id: int | None = None,
) -> ApprovalRequest:
    """Create a request, route it by the policy's rules, and decide or assign it.

    Steps: route (pure, on the policy version's cached specs); build the row completely — an
    auto route final with its decision, a human route at stage 1 with its group, assignee and
    SLA — and insert it once; record the whole intake's audit entries in one insert. A second
    open request for the same external id is refused by the unique constraint
    `request_one_open_per_external_id` (the transaction rolls back, then the open one is named).
    Raises DuplicateOpenRequest (409) or IllegalTransition for a bad resubmission.
    """
    arguments = locals()  # exactly the keyword arguments above
    try:
        return _submit(**arguments)
    except IntegrityError as exc:
        if not (external_id and _is_duplicate_open(exc)):
            raise
    # Another submit with the same external id holds the unique constraint (decided in the
    # meantime, the winner is no longer open: the 409 then names None).
    raise _open_duplicate(policy, external_id, caller) or _duplicate(None, external_id)


@transaction.atomic
def _submit(
    *,
    policy: Policy,
    title: str,
    payload: dict[str, Any],
    summary: str,
    external_id: str,
    callback_url: str,
    requested_by: str,
    due_at: datetime | None,
    previous: ApprovalRequest | None,
    actor: str,
    caller: str,
    requester_id: int | None,
) -> ApprovalRequest:
    if previous is not None and previous.status != Status.CHANGES_REQUESTED:
        raise IllegalTransition(
            "Only a request whose changes were requested can be resubmitted.", field="previous_id"
        )
    specs = policy_specs(policy)
    now = timezone.now()
    # Standing approvals ("approve and remember") are matched only after the rules chose a
    # person (approvals/routing.py); the auto decision then names the one that matched. They
    # apply while the policy offers a remember option, so other policies skip the query.
    # A resubmission always goes to a person, so it needs no standing approvals either.
    standing = (
        policy_standing_specs(policy=policy, at=now)
        if previous is None and any(option.remember for option in specs.options.values())
        else []
    )
    result = routing.route(
        specs.rules,
        specs.stages,
        payload,
        standing=standing,
        at=now,
        resubmission=previous is not None,
    )
    approval = ApprovalRequest(
        policy=policy,
        policy_version=policy.version,
        external_id=external_id,
        title=title,
        summary=summary,
        payload=payload,
        submitted_payload=payload,
        callback_url=callback_url,
        requested_by=requested_by,
        # Four-eyes by identity, fixed at intake from what the caller cannot fake in free text:
        # the token's user and the policy's requester field (docs/security.md "Four-eyes").
        requester_id=requester_id,
        requester_email=requester_email_from(payload, policy.requester_field),
        caller=caller,
        route=Route.AUTO if result.is_auto else Route.HUMAN,
        route_reason=result.reason,
        matched_rule=result.rule,
        stage_plan=[
            {
                "position": index,
                "group_id": stage.group_id,
                "group": stage.group,
                "quorum": stage.quorum,
                "quorum_count": stage.quorum_count,
            }
            for index, stage in enumerate(result.stages, start=1)
        ],
        stage=0 if result.is_auto else 1,
        due_at=due_at,
        due_at_overridden=due_at is not None,
        previous=previous,
        created_at=now,
    )
    approval.search_text = search_text(approval)
    audit = [
        AuditDraft(
            action="created",
            actor=actor,
            approval=approval,
            data={
                "policy": policy.slug,
                "policy_version": policy.version,
                "external_id": external_id,
                "previous": str(previous.pk) if previous else None,
            },
        ),
        AuditDraft(
            action="routed",
            actor="policy",
            approval=approval,
            data={
                "route": approval.route,
                "rule": result.rule,
                "reason": result.reason,
                # Using a standing approval is on the audit trail (docs/agents.md).
                **(
                    {"standing_approval": result.standing_approval}
                    if result.standing_approval
                    else {}
                ),
            },
        ),
    ]
    if result.is_auto:
        # Inserted already final, the unique constraint (pending rows only) cannot see it.
        if external_id and (duplicate := _open_duplicate(policy, external_id, caller)):
            raise duplicate
        outcome = Outcome.APPROVE if result.action == "approve" else Outcome.REJECT
        status = OUTCOME_STATUS[outcome]
        _move(approval, status)
        approval.decided_at = now
        _REQUEST_SAVE.create(approval)
        decision, decided = _record_decision(
            approval,
            outcome=outcome,
            channel=Decision.Channel.AUTO,
            decided_by_name="policy",
            comment=result.reason,
            rule=result.rule,
            is_final=True,
        )
        audit_record([*audit, decided, _final_entry(approval, actor="policy")])
        outbox_enqueue(approval=approval, event_type=FINAL_EVENT[status], decision=decision)
        return approval

    assigned = _assign_stage(
        approval,
        actor="policy",
        start=now,
        prefer_user_id=changes_asker_id(previous.pk) if previous is not None else None,
    )
    _REQUEST_SAVE.create(approval)
    audit_record([*audit, assigned] if assigned else audit)
    return approval


# --- deciding -------------------------------------------------------------------------------------


def _may_decide(approval: ApprovalRequest, reviewer: Any) -> bool:
    if not reviewer.is_active or approval.assigned_group_id is None:
        return False
    return Membership.objects.filter(group_id=approval.assigned_group_id, user=reviewer).exists()


def _payload_changes(
    approval: ApprovalRequest, option: DecisionOption, edits: dict[str, Any] | None
) -> dict[str, Any]:
    if not edits:
        return {}
    if not option.may_edit_payload:
        raise InvalidDecision(
            f"'{option.label}' does not allow editing the payload.", field="payload"
        )
    editable = set(approval.policy.editable_fields)
    changes: dict[str, Any] = {}
    for field_name, new_value in edits.items():
        if field_name not in editable:
            raise InvalidDecision(f"'{field_name}' is not an editable field.", field=field_name)
        old_value = approval.payload.get(field_name)
        if old_value != new_value:
            changes[field_name] = {"from": old_value, "to": new_value}
    return changes


# Table names for `_standing`'s plain SQL (from the models, never from input).
_DECISIONS = Decision._meta.db_table
_MEMBERS = Membership._meta.db_table
_USERS = get_user_model()._meta.db_table


def _standing(
    approval: ApprovalRequest, reviewer: Any, stage: dict[str, Any]
) -> dict[str, Any] | None:
    """In one query: None unless the reviewer is an active member of the current group; else
    whether they voted on this request, and — for quorums that count — the approvals this stage
    has so far and (quorum "all") how many it needs.

    Plain SQL (one of a few shapes, chosen by what the stage and the requester need): the ORM
    spent more CPU building this query than PostgreSQL spends answering it.
    """
    if not reviewer.is_active or approval.assigned_group_id is None:
        return None
    params: dict[str, Any] = {
        "approval": uuid_param(approval.pk),
        "reviewer": reviewer.pk,
        "group": approval.assigned_group_id,
    }
    wanted = [
        f"EXISTS (SELECT 1 FROM {_DECISIONS} v WHERE v.approval_id = %(approval)s"  # noqa: S608
        " AND v.decided_by_id = %(reviewer)s) AS voted"
    ]
    identity = requester_of(approval)
    # Four-eyes: does the reviewer hold a verified address that is the requester's? Asked in
    # this same query, so the decision's budget does not grow (docs/security.md).
    if identity.emails:
        emails = ", ".join(f"%(rq_v{i})s" for i in range(len(identity.emails)))
        params.update({f"rq_v{i}": email for i, email in enumerate(identity.emails)})
        wanted.append(f"{verified_email_sql('%(reviewer)s', emails)} AS requester_email")
    quorum = stage.get("quorum", "one")
    if quorum in ("all", "count"):
        params.update({"stage": approval.stage, "approve": Outcome.APPROVE})
        wanted.append(
            f"(SELECT COUNT(*) FROM {_DECISIONS} h WHERE h.approval_id = %(approval)s"  # noqa: S608
            " AND h.stage = %(stage)s AND h.outcome = %(approve)s) AS approvals_here"
        )
    if quorum == "all":
        params["stage_group"] = stage["group_id"]
        not_requester = requester_sql(identity, user="uu", params=params)
        wanted.append(
            f"(SELECT COUNT(*) FROM {_MEMBERS} mm INNER JOIN {_USERS} uu ON uu.id = mm.user_id"  # noqa: S608
            f" WHERE mm.group_id = %(stage_group)s AND uu.is_active {not_requester}) AS needed"
        )
    sql = (
        f"SELECT {', '.join(wanted)} FROM {_MEMBERS} m"  # noqa: S608
        " WHERE m.group_id = %(group)s AND m.user_id = %(reviewer)s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        names = [column[0] for column in cursor.description]
    standing = dict(zip(names, row, strict=True))
    for flag in ("voted", "requester_email"):
        if flag in standing:
            standing[flag] = bool(standing[flag])  # SQLite answers EXISTS with 0 or 1
    return standing


def first_vote_ends_stage(approval: ApprovalRequest) -> bool:
    """Whether no vote can exist on this pending request: it is at its first stage and any vote
    there ends that stage (quorum "one": a reject or request-changes ends the request, an
    approval completes the stage, see `_quorum_met`). Votes are only ever recorded by
    `approval_decide`, and a request's stage only moves forward."""
    stage = approval.current_stage or {"quorum": "one"}
    return approval.stage == 1 and stage.get("quorum", "one") not in ("all", "count")


def _quorum_met(stage: dict[str, Any], standing: dict[str, Any]) -> bool:
    """Whether one more approval completes the stage."""
    quorum = stage.get("quorum", "one")
    approvals_here = standing.get("approvals_here", 0) + 1
    if quorum == "all":
        return approvals_here >= max(standing["needed"], 1)
    if quorum == "count":
        return approvals_here >= max(int(stage.get("quorum_count") or 1), 1)
    return True


@transaction.atomic
def approval_decide(
    *,
    approval: ApprovalRequest,
    reviewer: AbstractBaseUser | Any,
    option: str,
    comment: str = "",
    value: str = "",
    payload_edits: dict[str, Any] | None = None,
    channel: str = Decision.Channel.WEB,
) -> Decision:
    """A reviewer's vote on the current stage.

    Steps: lock the row; refuse if already final ("already decided by …"), if the reviewer is
    not in the current group, voted already, or is the requester approving their own request;
    validate the option's needs (comment, value, editable fields); record the Decision — final
    or not, known before it is inserted. A reject or request-changes ends the request at once;
    an approval that meets the stage's quorum moves to the next stage, or approves the request
    after the last stage. The whole vote's audit entries go in one insert.
    """
    # The group and the assignee are not read here (a stage advance picks new ones).
    approval = _lock_pending(approval, for_decision=True)
    stage = approval.current_stage or {"quorum": "one"}
    standing = _standing(approval, reviewer, stage)
    if standing is None:
        raise NotAllowed("You are not a reviewer of this request's current stage.")
    chosen = policy_specs(approval.policy).options.get(option)
    if chosen is None:
        raise InvalidDecision(f"'{option}' is not an option of this policy.", field="option")
    if chosen.outcome == Outcome.APPROVE and is_requester(
        approval, reviewer, verified_match=standing.get("requester_email", False)
    ):
        raise NotAllowed(
            "You asked for this request, so someone else has to approve it (four-eyes); "
            "you may still reject it or ask for changes."
        )
    if standing["voted"]:
        raise AlreadyVoted("You have already voted on this request.")
    comment = (comment or "").strip()
    value = (value or "").strip()
    if chosen.needs_comment and not comment:
        raise InvalidDecision(f"'{chosen.label}' needs a comment.", field="comment")
    if chosen.needs_value and not value:
        raise InvalidDecision(f"'{chosen.label}' needs a value.", field="value")
    changes = _payload_changes(approval, chosen, payload_edits)
    if changes:
        approval.payload = {**approval.payload, **{k: v["to"] for k, v in changes.items()}}
        approval.search_text = search_text(approval)

    ends_now = chosen.outcome != Outcome.APPROVE
    stage_done = not ends_now and _quorum_met(stage, standing)
    last_stage = approval.stage >= len(approval.stage_plan)
    decision, decided = _record_decision(
        approval,
        outcome=chosen.outcome,
        channel=channel,
        decided_by=reviewer,
        decided_by_name=reviewer.get_username(),
        option=chosen,
        value=value,
        comment=comment,
        payload_changes=changes,
        is_final=ends_now or (stage_done and last_stage),
    )
    if decision.is_final:
        status = OUTCOME_STATUS[chosen.outcome]
        _finish(
            approval,
            status=status,
            decision=decision,
            actor=decision.decided_by_name,
            audit=[decided],
            changed=("payload", "search_text") if changes else (),
        )
        return decision
    if not stage_done:
        approval.save()
        audit_record([decided])
        return decision
    approval.stage += 1
    approval.escalated = False
    advanced = AuditDraft(
        action="stage_advanced",
        actor=decision.decided_by_name,
        approval=approval,
        data={"stage": approval.stage},
    )
    assigned = _assign_stage(
        approval,
        actor="policy",
        start=timezone.now(),
        prefer_user_id=changes_asker_id(approval.previous_id) if approval.previous_id else None,
    )
    approval.save()
    audit_record([decided, advanced, *([assigned] if assigned else [])])
    return decision


# --- the caller, the queue, the clock -----------------------------------------------------------


@transaction.atomic
def approval_cancel(*, approval: ApprovalRequest, actor: str = "api") -> ApprovalRequest:
    """The caller withdraws a pending request (docs/api.md "The API"): final, with its callback."""
    approval = lock_approval(approval)
    if approval.status != Status.PENDING:
        raise IllegalTransition(f"This request is already {approval.get_status_display().lower()}.")
    _finish(approval, status=Status.CANCELLED, decision=None, actor=actor)
    return approval


@transaction.atomic
def approval_assign(
    *,
    approval: ApprovalRequest,
    assignee: Any,
    group: ReviewerGroup | None = None,
    actor: str = "system",
    notify: bool = True,
) -> ApprovalRequest:
    """Give a pending request to a member (or to nobody in `group`'s queue)."""
    approval = _lock_pending(approval)
    group = group or approval.assigned_group
    if group is None:
        raise IllegalTransition("The request has no group to assign within.")
    if assignee is not None and not Membership.objects.filter(group=group, user=assignee).exists():
        raise NotAllowed(f"{assignee.get_username()} is not a member of {group.name}.")
    _set_assignee(approval, group=group, assignee=assignee, at=timezone.now())
    approval.save()
    audit_append(
        action="assigned",
        actor=actor,
        approval=approval,
        data={
            "stage": approval.stage,
            "group": group.slug,
            "assignee": assignee.get_username() if assignee else None,
        },
    )
    if notify:
        _notify_after_commit(approval, kind="assigned")
    return approval


def _save_by_reviewer(approval: ApprovalRequest, *, action: str, reviewer: Any) -> ApprovalRequest:
    """The tail of claim and release: save the row and audit who did it at which stage."""
    approval.save()
    audit_append(
        action=action,
        actor=reviewer.get_username(),
        approval=approval,
        data={"stage": approval.stage},
    )
    return approval


@transaction.atomic
def approval_claim(*, approval: ApprovalRequest, reviewer: Any) -> ApprovalRequest:
    """A group member takes an unassigned request; a race is lost politely, never doubled."""
    approval = _lock_pending(approval)
    if not _may_decide(approval, reviewer):
        raise NotAllowed("You are not a reviewer of this request's current stage.")
    if approval.assignee is not None and approval.assignee_id != reviewer.pk:
        raise AlreadyDecided(f"Already claimed by {approval.assignee.get_username()}.")
    if approval.assignee_id == reviewer.pk or approval.assigned_group is None:
        return approval
    _set_assignee(approval, group=approval.assigned_group, assignee=reviewer, at=timezone.now())
    return _save_by_reviewer(approval, action="claimed", reviewer=reviewer)


@transaction.atomic
def approval_release(*, approval: ApprovalRequest, reviewer: Any) -> ApprovalRequest:
    """The assignee hands a request back to the group's queue."""
    approval = _lock_pending(approval)
    if approval.assignee_id != reviewer.pk:
        raise NotAllowed("Only the assignee can release this request.")
    approval.assignee = None
    return _save_by_reviewer(approval, action="released", reviewer=reviewer)


@transaction.atomic
def approval_escalate(*, approval: ApprovalRequest, actor: str = "system") -> ApprovalRequest:
    """Past due: hand it to the group's escalation group, flag it, tell the caller."""
    approval = _lock_pending(approval)
    now = timezone.now()
    source = approval.assigned_group
    target = source.escalation_group if source and source.escalation_group_id else source
    if target is not None:
        # Stamps the member it picks; never the requester.
        choice = choose_assignment(target, at=now, requester=requester_of(approval))
        approval.assigned_group, approval.assignee = choice.group, choice.assignee
        approval.assigned_at = now
    approval.escalated = True
    approval.escalated_at = now
    approval.escalation_count += 1
    approval.next_sla_check_at = next_sla_check(approval, after=now)
    approval.save()
    audit_append(
        action="escalated",
        actor=actor,
        approval=approval,
        data={
            "from_group": source.slug if source else None,
            "to_group": approval.assigned_group.slug if approval.assigned_group else None,
            "assignee": approval.assignee.get_username() if approval.assignee else None,
            "count": approval.escalation_count,
        },
    )
    outbox_enqueue(approval=approval, event_type="request.escalated")
    _notify_after_commit(approval, kind="escalated")
    return approval


@transaction.atomic
def approval_expire(*, approval: ApprovalRequest, actor: str = "system") -> ApprovalRequest:
    """The policy's expiry action, recorded as a Decision(channel="timeout") where it decides."""
    approval = _lock_pending(approval)
    action = approval.policy.expiry_action
    if action == Policy.ExpiryAction.ESCALATE and approval.escalation_count < 2:
        approval.expires_at = None
        approval.save()
        return approval_escalate(approval=approval, actor=actor)
    expiry_outcomes: dict[str, str] = {
        Policy.ExpiryAction.APPROVE: Outcome.APPROVE,
        Policy.ExpiryAction.REJECT: Outcome.REJECT,
    }
    outcome = expiry_outcomes.get(action)
    if outcome is None:
        decision, decided = _record_decision(
            approval,
            outcome=Outcome.REJECT,
            channel=Decision.Channel.TIMEOUT,
            decided_by_name="system",
            comment="Expired without a decision.",
            is_final=True,
        )
        _finish(approval, status=Status.EXPIRED, decision=decision, actor=actor, audit=[decided])
        return approval
    decision, decided = _record_decision(
        approval,
        outcome=outcome,
        channel=Decision.Channel.TIMEOUT,
        decided_by_name="system",
        comment=f"Decided by the policy's expiry action ({action}).",
        is_final=True,
    )
    _finish(
        approval, status=OUTCOME_STATUS[outcome], decision=decision, actor=actor, audit=[decided]
    )
    return approval
