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
from django.db import connection, transaction
from django.utils import timezone

from approvals.ids import uuid_param
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
    links = [
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
    keys = [link.option_key for link in links]
    if not 0 < len(keys) <= MAX_LINKS or len(set(keys)) != len(keys):
        return DeepLink.objects.bulk_create(links)
    ids = deeplink_rows(
        reviewer_id=reviewer.pk, approval_id=approval.pk, stage=approval.stage, option_keys=keys
    )
    for link in links:
        link.pk = ids[link.option_key]
        link._state.adding, link._state.db = False, connection.alias
    return links


# The deep links' INSERT as fixed SQL, one string per number of links (a notice mints one link
# per option): the ORM's bulk_create spent more CPU building it than the database answering.
MAX_LINKS = 16
_LINK_ROW = "(%s, %s, %s, %s, %s, %s)"
_INSERT_LINKS = {
    count: (
        # Table and column names from the model, every value a parameter.
        f"INSERT INTO {DeepLink._meta.db_table}"  # noqa: S608
        " (approval_id, reviewer_id, stage, option_key, created_at, expires_at)"
        f" VALUES {', '.join([_LINK_ROW] * count)} RETURNING id, option_key"
    )
    for count in range(1, MAX_LINKS + 1)
}


def deeplink_rows(
    *, reviewer_id: int, approval_id: Any, stage: int, option_keys: list[str]
) -> dict[str, int]:
    """Insert one live link per option (distinct keys, at most MAX_LINKS) in one statement,
    without a transaction of its own (the caller's, or `deeplink_issue`'s); option key -> id."""
    now = timezone.now()
    ops = connection.ops
    created = ops.adapt_datetimefield_value(now)
    expires = ops.adapt_datetimefield_value(now + timedelta(hours=settings.DEEP_LINK_HOURS))
    request_id = uuid_param(approval_id)
    params: list[Any] = []
    for key in option_keys:
        params += [request_id, reviewer_id, stage, key, created, expires]
    with connection.cursor() as cursor:
        # RETURNING's rows need not come in the VALUES' order: matched by option key.
        cursor.execute(_INSERT_LINKS[len(option_keys)], params)
        return {key: pk for pk, key in cursor.fetchall()}


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
