"""Reads for the intake API: one access helper raising Http404, and the
keyset-paginated list. Each returns rows with their joins set, so serialising them runs no
further query."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from approvals.api.problems import validation_problem
from approvals.api.schemas import RequestFilters
from approvals.models import ApprovalRequest, Decision


def _requests() -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.select_related("policy", "assigned_group", "assignee")


def approval_get_for_caller(*, pk: str, caller: str) -> ApprovalRequest:
    """The caller's request with this id; Http404 when there is none, the id is not one of
    ours, or it is another caller's (docs/api.md "Tokens and callers": missing and forbidden
    look the same)."""
    try:
        approval_id = uuid.UUID(pk)
    except ValueError:
        raise Http404("no such request") from None
    approval = _requests().filter(pk=approval_id, caller=caller).first()
    if approval is None:
        raise Http404("no such request")
    return approval


def approval_etag(*, pk: object, updated_at: datetime) -> str:
    """A strong ETag for the request object: every service saves the row, moving updated_at."""
    return f'"{pk}-{int(updated_at.timestamp() * 1_000_000):x}"'


def approval_etag_for_caller(*, pk: str, caller: str) -> str:
    """The current ETag of a request, from one primary-key query reading one column;
    Http404 as approval_get_for_caller. Polling with If-None-Match costs just this."""
    try:
        approval_id = uuid.UUID(pk)
    except ValueError:
        raise Http404("no such request") from None
    updated_at = (
        ApprovalRequest.objects.filter(pk=approval_id, caller=caller)
        .values_list("updated_at", flat=True)
        .first()
    )
    if updated_at is None:
        raise Http404("no such request")
    return approval_etag(pk=approval_id, updated_at=updated_at)


def approval_decisions(approval: ApprovalRequest) -> list[Decision]:
    return list(Decision.objects.filter(approval=approval).order_by("decided_at", "id"))


def approval_final_decision(approval: ApprovalRequest) -> Decision | None:
    """The decision that ended the request; no query for a pending one (it has none)."""
    if approval.status == ApprovalRequest.Status.PENDING:
        return None
    return (
        Decision.objects.filter(approval=approval, is_final=True)
        .order_by("-decided_at", "-id")
        .first()
    )


def encode_cursor(approval: ApprovalRequest) -> str:
    position = f"{approval.created_at.isoformat()}|{approval.pk}"
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, pk = text.partition("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive")
        return created_at, uuid.UUID(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_problem(
            [("cursor", "Not a cursor from this API; pass the `next` value back unchanged.")]
        ) from None


def approvals_page(
    *, filters: RequestFilters, caller: str
) -> tuple[list[ApprovalRequest], str | None]:
    """The caller's requests, one page, newest first, keyset on (created_at, id); each row
    carries `final_decisions`.

    Three queries whatever the page size: the rows (with policy, group and assignee joined)
    and the final decisions of the page.
    """
    rows = _requests().filter(caller=caller).order_by("-created_at", "-id")
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.policy:
        rows = rows.filter(policy__slug=filters.policy)
    if filters.external_id:
        rows = rows.filter(external_id=filters.external_id)
    if filters.cursor:
        created_at, pk = decode_cursor(filters.cursor)
        rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    rows = rows.prefetch_related(
        Prefetch(
            "decisions",
            queryset=Decision.objects.filter(is_final=True).order_by("decided_at", "id"),
            to_attr="final_decisions",
        )
    )
    page: list[ApprovalRequest] = list(rows[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return page, encode_cursor(page[-1]) if more and page else None
