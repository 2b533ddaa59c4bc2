"""GET /api/v1/policies (docs/api.md "The API"): what a caller may ask for and how to shape it.

An agent reads this to learn the policies, their payload schemas and decision options.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router

from approvals.api.schemas import PolicyPage, ProblemOut
from approvals.models import ApiToken, DecisionOption, Policy

router = Router(tags=["policies"])


def policies_for_caller(*, token: ApiToken) -> QuerySet[Policy]:
    """The active policies this token may submit to, with their options prefetched: all of
    them, or the token's own list (`ApiToken.allows_policy`, as intake checks it)."""
    policies = Policy.objects.filter(is_active=True)
    if token.policy_ids:
        policies = policies.filter(pk__in=token.policy_ids)
    return policies.order_by("slug").prefetch_related(
        Prefetch("options", queryset=DecisionOption.objects.order_by("position", "id"))
    )


def policy_data(policy: Policy) -> dict[str, Any]:
    return {
        "slug": policy.slug,
        "name": policy.name,
        "summary": policy.summary,
        "version": policy.version,
        "payload_schema": policy.payload_schema,
        "options": [
            {"key": option.key, "label": option.label, "outcome": option.outcome}
            for option in policy.options.all()
        ],
    }


@router.get(
    "/policies",
    operation_id="listPolicies",
    response={200: PolicyPage, 401: ProblemOut, 429: ProblemOut},
    summary="The policies you may submit to",
    description="Each with its summary, version, payload schema (JSON Schema or null) and "
    "decision options. Two queries whatever the number of policies.",
)
def list_policies(request: HttpRequest) -> HttpResponse:
    from approvals.api.requests import json_response

    token: ApiToken = request.auth  # type: ignore[attr-defined]
    results = [policy_data(policy) for policy in policies_for_caller(token=token)]
    return json_response(200, {"results": results})
