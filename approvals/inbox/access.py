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

from approvals.inbox.selectors import approvals_visible_to
from approvals.models import ApprovalRequest


class AuthenticatedHttpRequest(HttpRequest):
    """The request a `login_required` view receives: `user` is a signed-in User, not
    AnonymousUser; `htmx` is set by django-htmx's middleware."""

    user: User
    htmx: HtmxDetails


def approval_get_for_reviewer(
    *, user: User | AnonymousUser, pk: Any, group_ids: list[int] | None = None
) -> ApprovalRequest:
    """The request `pk` if `user` may see it (their groups' work or one they decided on)."""
    try:
        pk = uuid.UUID(str(pk))
    except ValueError:
        raise Http404("No such request.") from None
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such request.")
    approval = (
        approvals_visible_to(user=user, group_ids=group_ids)
        .filter(pk=pk)
        .select_related("policy", "assigned_group", "assignee", "previous")
        .first()
    )
    if approval is None:
        raise Http404("No such request.")
    return approval
