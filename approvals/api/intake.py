"""From a parsed POST body to the arguments of `approval_submit`, or a 422 naming each field.

Order: the body's shape (RequestIn: types, limits, unknown fields), then the policy (unknown:
`errors[0].field == "policy"`; one the token may not submit to: 403), then what needs the policy or the network: the payload schema
and the callback URL's SSRF guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic
from django.db import connection

from approvals.api.auth import policy_forbidden
from approvals.api.problems import validation_problem
from approvals.api.schemas import RequestIn
from approvals.callbacks.netguard import UnsafeCallbackURL, check_callback_url
from approvals.models import ApiToken, ApprovalRequest, Policy
from approvals.payload_schema import validate_payload
from approvals.services.policies import active_policy

ALLOWED_FIELDS = ", ".join(RequestIn.model_fields)


@dataclass(frozen=True)
class Intake:
    policy: Policy
    title: str
    payload: dict[str, Any]
    summary: str
    external_id: str
    callback_url: str
    requested_by: str
    due_at: datetime | None
    caller: str
    requester_id: int | None

    def submit_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def intake_validate(
    document: dict[str, Any], *, token: ApiToken | None = None, caller: str = ""
) -> Intake:
    """The checked intake; `token` limits the policies and names the caller and requester
    (none for inbound sources, which pass their own `caller`)."""
    try:
        data = RequestIn.model_validate(document)
    except pydantic.ValidationError as exc:
        raise validation_problem(pydantic_errors(exc)) from None
    policy = active_policy(data.policy)
    if policy is None:
        raise validation_problem([("policy", f"There is no active policy {data.policy!r}.")])
    if token is not None and not token.allows_policy(policy.pk):
        raise policy_forbidden(policy.slug)
    errors = [(e.field, e.message) for e in validate_payload(policy.payload_schema, data.payload)]
    if data.callback_url:
        try:
            check_callback_url(data.callback_url)
        except UnsafeCallbackURL as exc:
            errors.append(("callback_url", exc.message))
    if errors:
        raise validation_problem(errors)
    return Intake(
        policy=policy,
        title=data.title,
        payload=data.payload,
        summary=data.summary or "",
        external_id=data.external_id or "",
        callback_url=data.callback_url or "",
        requested_by=data.requested_by or "",
        due_at=data.due_at,
        caller=token.caller if token is not None else caller,
        # The person the token acts for is the requester (four-eyes), whatever requested_by says.
        requester_id=token.user_id if token is not None else None,
    )


def resubmission_of(intake: Intake) -> ApprovalRequest | None:
    """The request this one resubmits: the latest for the same policy and external_id, when
    that one ended in changes_requested (docs/api.md "The API", previous_id). Only the same
    caller's requests count: external ids are each caller's own."""
    if not intake.external_id:
        return None
    # Fixed SQL on the hot path: the ORM would spend more CPU building it than the database
    # spends answering (the index req_policy_external finds it).
    with connection.cursor() as cursor:
        cursor.execute(_LATEST_SQL, [intake.policy.pk, intake.caller, intake.external_id])
        latest = cursor.fetchone()
    if latest is not None and latest[1] == ApprovalRequest.Status.CHANGES_REQUESTED:
        return ApprovalRequest.objects.get(pk=latest[0])
    return None


_LATEST_SQL = (
    f"SELECT id, status FROM {ApprovalRequest._meta.db_table}"  # noqa: S608
    " WHERE policy_id = %s AND caller = %s AND external_id = %s"
    " ORDER BY created_at DESC, id DESC LIMIT 1"
)


def pydantic_errors(exc: pydantic.ValidationError) -> list[tuple[str, str]]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        kind = error["type"]
        if kind == "extra_forbidden":
            message = f"Unknown field; the fields are: {ALLOWED_FIELDS}."
        elif kind == "missing":
            message = "This field is required."
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        errors.append((field, message))
    return errors
