"""The one way a view gets a request for a reviewer.

Missing, malformed and forbidden all raise the same Http404, so a URL never tells an
outsider whether a request exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from approvals.ids import uuid_param
from approvals.inbox.selectors import approvals_visible_to, reviewer_group_ids
from approvals.models import ApprovalRequest, Decision
from approvals.rows import JoinedRead


class AuthenticatedHttpRequest(HttpRequest):
    """The request a `login_required` view receives: `user` is a signed-in User, not
    AnonymousUser; `htmx` is set by django-htmx's middleware."""

    user: User
    htmx: HtmxDetails


# What a detail pane shows of a request besides its own row.
DETAIL_JOINS = ("policy", "assigned_group", "assignee", "previous")
# What a decision reads of the request before `approval_decide` re-reads it locked: the title
# (the "recorded" notice), the payload and the policy's version and fields (the form, its
# options and "approve and remember").
DECISION_COLUMNS = (
    "id",
    "title",
    "payload",
    "policy__version",
    "policy__created_at",
    "policy__editable_fields",
    "policy__visible_fields",
)
# DECISION_COLUMNS in plain SQL built once (approvals/rows.py), with the visibility test of
# `approvals_visible_to` written out: run before every decision from the inbox.
_DECISION_READ = JoinedRead(ApprovalRequest, DECISION_COLUMNS)
_DECIDED_BY = (
    f"EXISTS (SELECT 1 FROM {Decision._meta.db_table} d"  # noqa: S608
    " WHERE d.approval_id = r.id AND d.decided_by_id = %s)"
)


def approval_get_for_reviewer(
    *,
    user: User | AnonymousUser,
    pk: Any,
    group_ids: list[int] | None = None,
    for_decision: bool = False,
) -> ApprovalRequest:
    """The request `pk` if `user` may see it (their groups' work or one they decided on), with
    what a detail pane shows; `for_decision`: only DECISION_COLUMNS."""
    try:
        pk = uuid.UUID(str(pk))
    except ValueError:
        raise Http404("No such request.") from None
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such request.")
    if for_decision:
        approval = _decision_read(user, pk, group_ids)
    else:
        found = approvals_visible_to(user=user, group_ids=group_ids).filter(pk=pk)
        # One row at most: no ORDER BY needed (`first()` would add one).
        approval = next(iter(found.select_related(*DETAIL_JOINS)[:1]), None)
    if approval is None:
        raise Http404("No such request.")
    return approval


def _decision_read(user: Any, pk: uuid.UUID, group_ids: list[int] | None) -> Any:
    if group_ids is None:
        group_ids = reviewer_group_ids(user)
    visible = _DECIDED_BY
    if group_ids:
        groups = ", ".join(["%s"] * len(group_ids))
        visible = f"r.assigned_group_id IN ({groups}) OR {visible}"
    return _DECISION_READ.one(f"r.id = %s AND ({visible})", [uuid_param(pk), *group_ids, user.pk])
