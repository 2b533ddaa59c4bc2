"""The typed shapes of /api/v1/ (docs/api.md "The API"): what the OpenAPI document shows and what the
intake body is validated against. Responses are built by `approvals.serializers`; tests hold the
two together (a schemathesis run validates every response against these)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import AwareDatetime, ConfigDict, field_validator
from pydantic.config import JsonDict

Status = Literal["pending", "approved", "rejected", "changes_requested", "expired", "cancelled"]
Outcome = Literal["approve", "reject", "request_changes"]
Channel = Literal["web", "email", "slack", "auto", "timeout"]

# A due time beyond this is surely a mistake, and SLA arithmetic on year 9999 would overflow.
DUE_AT_HORIZON = timedelta(days=366 * 100)
NO_NUL = r"^[^\x00]*$"

EXAMPLE_REQUEST: JsonDict = {
    "policy": "refund-approval",
    "external_id": "ticket-4411",
    "title": "Refund for order #4411",
    "summary": "Customer reports a damaged item.",
    "payload": {"amount": 120.0, "currency": "USD", "customer": "acme"},
    "requested_by": "zendesk",
}
EXAMPLE_ROUTINE_REQUEST: JsonDict = {
    "policy": "refund-approval",
    "external_id": "ticket-4412",
    "title": "Refund for order #4412",
    "payload": {"amount": 20.0, "currency": "USD", "customer": "acme"},
}


class RequestIn(Schema):
    """A decision an automation asks for. Unknown fields are refused (422), not ignored."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [EXAMPLE_REQUEST, EXAMPLE_ROUTINE_REQUEST]},
    )

    policy: str = Field(min_length=1, max_length=64, description="The policy's slug.")
    title: str = Field(min_length=1, max_length=300)
    payload: dict[str, Any] = Field(
        description="Any JSON object (at most 32 levels deep); the policy's payload schema, "
        "if it has one, applies."
    )
    summary: str | None = Field(default=None, max_length=10_000)
    external_id: str | None = Field(
        default=None,
        max_length=255,
        description="Your id for the thing being decided. At most one open request per policy "
        "and external_id: a second one is a 409 naming the first. After the latest request "
        "for it ended in changes_requested, a new POST links to it as previous_id.",
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2000,
        description="http(s) URL for the outcome callback; overrides the policy's. Loopback "
        "and private addresses are refused.",
    )
    requested_by: str | None = Field(default=None, max_length=255)
    due_at: AwareDatetime | None = Field(
        default=None,
        strict=False,
        description="ISO 8601 with a timezone; overrides the policy's SLA for this request.",
    )

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("due_at", mode="before")
    @classmethod
    def _due_at_iso(cls, value: Any) -> Any:
        # Parsed here so that only ISO 8601 text is accepted: pydantic's lax mode would also
        # take a number of seconds since 1970.
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string with a timezone")
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time such as 2026-11-24T10:00:00Z") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError("must include a timezone, e.g. Z or +01:00")
        try:
            utc = parsed.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range") from None
        now = datetime.now(UTC)
        if not (datetime(1970, 1, 1, tzinfo=UTC) <= utc <= now + DUE_AT_HORIZON):
            raise ValueError("must lie between 1970 and a hundred years from now")
        return utc


class PolicyRef(Schema):
    model_config = ConfigDict(extra="forbid")

    slug: str
    version: int = Field(description="The policy version the request was routed under.")


class DecisionOut(Schema):
    model_config = ConfigDict(extra="forbid")

    stage: int
    outcome: Outcome
    option: str | None = Field(description="The option's key; null for policy and timeout.")
    value: str | None = Field(description="The value an option asked for (e.g. Custom).")
    comment: str
    decided_by: str = Field(description='A username, "policy" or "system".')
    channel: Channel
    decided_at: datetime
    payload_changes: dict[str, Any]
    rule: str | None = Field(description="The policy rule behind an auto decision.")
    policy_version: int


class RequestOut(Schema):
    model_config = ConfigDict(extra="forbid")

    id: str
    external_id: str | None
    policy: PolicyRef
    status: Status
    route: Literal["auto", "human"]
    route_reason: str = Field(description="Why the policy routed it this way.")
    stage: int = Field(description="1-based; 0 when the policy decided it.")
    assigned_group: str | None
    assignee: str | None
    due_at: datetime | None
    decision: DecisionOut | None = Field(description="The decision that ended it, if any.")
    previous_id: str | None = Field(
        description="The request this one resubmits after changes were requested."
    )
    review_url: str
    created_at: datetime
    escalated: bool = Field(description="Past its due time and handed on (section SLAs).")
    escalated_at: datetime | None


class RequestDetailOut(RequestOut):
    decisions: list[DecisionOut] = Field(description="Every decision so far, oldest first.")
    payload: dict[str, Any] = Field(
        description="The payload as it stands, reviewers' edits applied."
    )


class OptionOut(Schema):
    model_config = ConfigDict(extra="forbid")

    key: str
    label: str
    outcome: Outcome


class PolicyOut(Schema):
    model_config = ConfigDict(extra="forbid")

    slug: str
    name: str
    summary: str
    version: int
    payload_schema: dict[str, Any] | None = Field(description="JSON Schema of the payload.")
    options: list[OptionOut]


class PolicyPage(Schema):
    model_config = ConfigDict(extra="forbid")

    results: list[PolicyOut]


class RequestPage(Schema):
    model_config = ConfigDict(extra="forbid")

    results: list[RequestOut]
    next: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class RequestFilters(Schema):
    status: Status | None = None
    policy: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    external_id: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    cursor: str | None = Field(
        default=None, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$", description="Opaque."
    )
    limit: int = Field(default=50, ge=1, le=200)


class FieldErrorOut(Schema):
    field: str = Field(description='A dotted path, e.g. "payload.amount".')
    message: str


class ProblemOut(Schema):
    """RFC 9457 problem details, as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldErrorOut]
    existing_id: str | None = Field(
        default=None, description="On a 409 duplicate: the open request's id."
    )
