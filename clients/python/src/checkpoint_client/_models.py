"""The objects the API returns, as small read-only dataclasses (`raw` keeps the JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FINAL_STATUSES = frozenset({"approved", "rejected", "changes_requested", "expired", "cancelled"})


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Decision:
    outcome: str
    option: str | None
    comment: str
    decided_by: str
    channel: str
    decided_at: datetime | None
    stage: int = 0
    value: str | None = None
    payload_changes: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(
            outcome=data["outcome"],
            option=data.get("option"),
            comment=data.get("comment") or "",
            decided_by=data.get("decided_by") or "",
            channel=data.get("channel") or "",
            decided_at=_when(data.get("decided_at")),
            stage=int(data.get("stage") or 0),
            value=data.get("value"),
            payload_changes=data.get("payload_changes") or {},
            rule=data.get("rule"),
        )


@dataclass(frozen=True)
class ApprovalRequest:
    """A request as the API shows it. `payload` is filled by `get`/`wait` (edits applied)."""

    id: str
    status: str
    route: str
    review_url: str
    policy: str
    policy_version: int
    external_id: str | None = None
    route_reason: str = ""
    stage: int = 0
    assigned_group: str | None = None
    assignee: str | None = None
    due_at: datetime | None = None
    created_at: datetime | None = None
    escalated: bool = False
    escalated_at: datetime | None = None
    decision: Decision | None = None
    decisions: list[Decision] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    previous_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApprovalRequest:
        policy = data.get("policy") or {}
        return cls(
            id=data["id"],
            status=data["status"],
            route=data.get("route", ""),
            review_url=data.get("review_url", ""),
            policy=policy.get("slug", ""),
            policy_version=int(policy.get("version") or 0),
            external_id=data.get("external_id"),
            route_reason=data.get("route_reason") or "",
            stage=int(data.get("stage") or 0),
            assigned_group=data.get("assigned_group"),
            assignee=data.get("assignee"),
            due_at=_when(data.get("due_at")),
            created_at=_when(data.get("created_at")),
            escalated=bool(data.get("escalated")),
            escalated_at=_when(data.get("escalated_at")),
            decision=Decision.from_json(data["decision"]) if data.get("decision") else None,
            decisions=[Decision.from_json(d) for d in data.get("decisions") or []],
            payload=data.get("payload"),
            previous_id=data.get("previous_id"),
            raw=data,
        )


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    outcome: str


@dataclass(frozen=True)
class Policy:
    slug: str
    name: str
    summary: str
    version: int
    payload_schema: dict[str, Any] | None
    options: list[Option]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Policy:
        return cls(
            slug=data["slug"],
            name=data.get("name", ""),
            summary=data.get("summary", ""),
            version=int(data.get("version") or 0),
            payload_schema=data.get("payload_schema"),
            options=[
                Option(key=o["key"], label=o["label"], outcome=o["outcome"])
                for o in data.get("options") or []
            ],
            raw=data,
        )
