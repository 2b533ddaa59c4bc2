"""Email decision links as server-side records (docs/security.md "Email links").

`deeplink_issue` mints the rows an email's buttons name; `deeplink_decide` spends one link and
decides through `approval_decide` in one transaction (a refused decision leaves the link
unspent); `deeplink_revoke` is the admin's switch. A link's token itself is made in
`approvals/inbox/deeplinks.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalRequest, Decision, DeepLink
from approvals.services.approvals import approval_decide


class LinkAlreadyUsed(Exception):
    """Another POST spent (or an admin revoked) this link first."""


@transaction.atomic
def deeplink_issue(
    *, reviewer: Any, approval: ApprovalRequest, option_keys: Iterable[str]
) -> list[DeepLink]:
    """One live link per option for this reviewer on the request's current stage (one INSERT)."""
    now = timezone.now()
    expires_at = now + timedelta(hours=settings.DEEP_LINK_HOURS)
    return DeepLink.objects.bulk_create(
        [
            DeepLink(
                approval=approval,
                reviewer=reviewer,
                stage=approval.stage,
                option_key=key,
                created_at=now,
                expires_at=expires_at,
            )
            for key in option_keys
        ]
    )


@transaction.atomic
def deeplink_decide(
    *,
    link: DeepLink,
    approval: ApprovalRequest,
    reviewer: Any,
    comment: str = "",
    value: str = "",
) -> Decision:
    """Spend the link (a conditional UPDATE: of two POSTs one wins) and decide with it.

    Any refusal from `approval_decide` rolls the whole transaction back, so the link stays live
    for a corrected form (a missing comment) and nothing else changed.
    """
    spent = DeepLink.objects.filter(pk=link.pk, used_at__isnull=True, revoked_at__isnull=True)
    if not spent.update(used_at=timezone.now()):
        raise LinkAlreadyUsed
    return approval_decide(
        approval=approval,
        reviewer=reviewer,
        option=link.option_key,
        comment=comment,
        value=value,
        channel=Decision.Channel.EMAIL,
    )


@transaction.atomic
def deeplink_revoke(*, links: Iterable[DeepLink], by: Any) -> int:
    """Revoke links that are not spent or revoked yet; returns how many were revoked."""
    pks = [link.pk for link in links]
    return DeepLink.objects.filter(
        pk__in=pks, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now(), revoked_by=by)
