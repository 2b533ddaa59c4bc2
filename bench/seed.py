"""Seed data for the benchmark, written straight into PostgreSQL with generate_series.

Going through the services would take an hour for a million rows; these INSERT … SELECT
statements write rows shaped exactly as `approval_submit` / `approval_decide` leave them
(human route, stage 1 of the refund-approval playbook, an SLA check point, a decision with its
chain hash) in seconds. Only the benchmark database is ever touched (bench/run.py creates it).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, transaction

# The request and decision tables, and everything hanging off them, emptied between phases.
REQUEST_TABLES = [
    "approvals_deliveryattempt",
    "approvals_outboxevent",
    "approvals_notification",
    "approvals_auditentry",
    "approvals_decision",
    "approvals_approvalrequest",
    "approvals_historicalapprovalrequest",
]

# A uuid7-like id whose high bits are the row's created_at, as approvals.ids.uuid7 makes them,
# so seeded rows sit in the primary key's B-tree where real ones would.
UUID7_SQL = (
    "(lpad(to_hex((extract(epoch from {ts}) * 1000)::bigint), 12, '0') || '7'"
    " || substr(md5({i}::text || {salt}), 1, 3) || '8' || substr(md5({i}::text || {salt}), 4, 15))::uuid"
)


def reset_requests() -> None:
    """Empty the request tables and restart the audit chain (between phases, never in prod)."""
    with connection.cursor() as cursor:
        # The audit tables refuse TRUNCATE and the head refuses to move back (docs/security.md);
        # the harness runs as a superuser on a database of its own and holds the triggers off.
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(f"TRUNCATE {', '.join(REQUEST_TABLES)} RESTART IDENTITY CASCADE")
            cursor.execute(
                "UPDATE approvals_auditchainhead SET seq = 0, last_hash = %s", ["0" * 64]
            )
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("UPDATE approvals_membership SET last_assigned_at = NULL")


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _stage_plan(group: Any) -> str:
    return json.dumps(
        [
            {
                "position": 1,
                "group_id": group.pk,
                "group": group.slug,
                "quorum": "one",
                "quorum_count": 1,
            }
        ]
    )


def seed_open_requests(
    *,
    policy: Any,
    group: Any,
    assignee_ids: list[int],
    count: int,
    due_count: int = 0,
    unassigned_every: int = 10,
    first: int = 1,
    tag: str = "open",
) -> None:
    """`count` pending requests of `policy` in `group`'s queue, spread over `assignee_ids`.

    Every `unassigned_every`-th round of the assignees waits unassigned in the group queue
    (0: none), so each assignee holds the same share. The last `due_count`
    rows are past their due time with their SLA check point in the past (what the sweep acts
    on); all others are due in the future and next checked tomorrow, so they are pending but
    not due. Created times step back one second per row from now.
    """
    if count <= 0:
        return
    assignees = "ARRAY[" + ",".join(str(pk) for pk in assignee_ids) + "]::integer[]"
    ts = "(now() - make_interval(secs => i))"
    due_from = first + count - due_count
    sql = f"""
        INSERT INTO approvals_approvalrequest (
            id, policy_id, policy_version, external_id, title, summary, payload,
            submitted_payload, callback_url, requested_by, caller, requester_email, status, route, route_reason,
            matched_rule, stage_plan, stage, assigned_group_id, assignee_id, assigned_at,
            due_at, due_at_overridden, expires_at, escalated, escalation_count,
            next_sla_check_at, created_at, updated_at
        )
        SELECT
            {UUID7_SQL.format(ts=ts, i="i", salt="%(tag)s")},
            %(policy)s, %(version)s, %(tag)s || '-' || i, 'Refund for order #' || i,
            'Customer reports a damaged item.', p.payload, p.payload, '', 'bench', 'bench', '',
            'pending',
            'human', 'No rule matched: a person decides.', '', %(plan)s::jsonb, 1, %(group)s,
            CASE WHEN %(every)s > 0 AND (i / %(n_assignees)s) %% GREATEST(%(every)s, 1) = 0
                 THEN NULL ELSE ({assignees})[1 + (i %% %(n_assignees)s)] END,
            {ts},
            CASE WHEN i >= %(due_from)s THEN now() - interval '5 minutes'
                 ELSE now() + interval '4 hours' + make_interval(secs => i %% 3600) END,
            false,
            CASE WHEN i >= %(due_from)s THEN now() + interval '1 day'
                 ELSE now() + interval '28 hours' END,
            false, 0,
            CASE WHEN i >= %(due_from)s THEN now() - interval '5 minutes'
                 ELSE now() + interval '1 day' END,
            {ts}, {ts}
        FROM generate_series(%(first)s::int, %(last)s::int) AS i,
        LATERAL (
            SELECT jsonb_build_object(
                'amount', 50 + (i %% 950), 'currency', 'USD', 'customer', 'acme-' || (i %% 500),
                'order_id', 'ord-' || i, 'reason', 'damaged item'
            ) AS payload
        ) AS p
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "policy": policy.pk,
                "version": policy.version,
                "tag": f"bench-{tag}",
                "plan": _stage_plan(group),
                "group": group.pk,
                "every": max(unassigned_every, 0),
                "n_assignees": len(assignee_ids),
                "due_from": due_from,
                "first": first,
                "last": first + count - 1,
            },
        )


def seed_decided_requests(
    *, policy: Any, group: Any, reviewers: list[tuple[int, str]], count: int
) -> None:
    """`count` approved requests, each with the final Decision a reviewer made (one CSV row).

    The decision's entry_hash is a stand-in value (the CSV only copies it); the chain itself is
    not rebuilt, so `verify_audit` is not meaningful on this data.
    """
    if count <= 0:
        return
    ids = "ARRAY[" + ",".join(str(pk) for pk, _ in reviewers) + "]::integer[]"
    names = "ARRAY[" + ",".join(f"'{name}'" for _, name in reviewers) + "]::text[]"
    ts = "(now() - interval '30 days' + make_interval(secs => i))"
    # One transaction: now() is its start time, so both statements compute the same ids.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO approvals_approvalrequest (
                id, policy_id, policy_version, external_id, title, summary, payload,
                submitted_payload, callback_url, requested_by, caller, requester_email, status, route, route_reason,
                matched_rule, stage_plan, stage, assigned_group_id, assignee_id, assigned_at,
                due_at, due_at_overridden, escalated, escalation_count, created_at, updated_at,
                decided_at
            )
            SELECT
                {UUID7_SQL.format(ts=ts, i="i", salt="'decided'")},
                %(policy)s, %(version)s, 'bench-decided-' || i, 'Refund for order #' || i,
                'Customer reports a damaged item.', p.payload, p.payload, '', 'bench',
                'bench', '', 'approved', 'human', 'No rule matched: a person decides.', '', %(plan)s::jsonb, 1,
                %(group)s, ({ids})[1 + (i %% %(n)s)], {ts}, {ts} + interval '4 hours', false,
                (i %% 20 = 0), (i %% 20 = 0)::int, {ts}, {ts},
                {ts} + make_interval(mins => 10 + i %% 400)
            FROM generate_series(1, %(count)s::int) AS i,
            LATERAL (
                SELECT jsonb_build_object(
                    'amount', 50 + (i %% 950), 'currency', 'USD', 'customer', 'acme-' || (i %% 500),
                    'order_id', 'ord-' || i, 'reason', 'damaged item'
                ) AS payload
            ) AS p
            """,
            {
                "policy": policy.pk,
                "version": policy.version,
                "plan": _stage_plan(group),
                "group": group.pk,
                "n": len(reviewers),
                "count": count,
            },
        )
        # The same ids, assignees and times again from the same series: no join, no sort.
        cursor.execute(
            f"""
            INSERT INTO approvals_decision (
                approval_id, stage, outcome, option, option_label, value, comment,
                decided_by_id, decided_by_name, channel, decided_at, payload_changes,
                policy_version, rule, is_final, entry_hash
            )
            SELECT {UUID7_SQL.format(ts=ts, i="i", salt="'decided'")}, 1, 'approve', 'approve',
                   'Approve', '',
                   CASE WHEN i %% 7 = 0 THEN '=SUM(A1:A9) looks fine, "quoted", ok' ELSE 'ok' END,
                   ({ids})[1 + (i %% %(n)s)], ({names})[1 + (i %% %(n)s)], 'web',
                   {ts} + make_interval(mins => 10 + i %% 400), '{{}}'::jsonb, %(version)s, '',
                   true, md5(i::text) || md5((i + 1)::text)
            FROM generate_series(1, %(count)s::int) AS i
            """,
            {"n": len(reviewers), "count": count, "version": policy.version},
        )
