"""The contract's ways of writing a value, once for every channel (approvals/formats.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from approvals.formats import absolute_url, iso_z, visible_fields
from approvals.models import ApprovalRequest, Policy

PAYLOAD = {
    "amount": 120.5,
    "refund": True,
    "note": None,
    "customer": {"name": "Acme", "tier": "gold"},
    "tags": ["vip", "eu"],
    "reason": "Broken on arrival",
}


def request_showing(*names: str) -> ApprovalRequest:
    return ApprovalRequest(policy=Policy(visible_fields=list(names)), payload=PAYLOAD)


def test_values_read_as_json_except_text() -> None:
    shown = dict(visible_fields(request_showing()))
    assert shown == {
        "amount": "120.5",
        "refund": "true",
        "note": "null",
        "customer": '{"name": "Acme", "tier": "gold"}',
        "tags": '["vip", "eu"]',
        "reason": "Broken on arrival",
    }


def test_only_the_named_fields_in_the_policys_order_and_a_dotted_name_reaches_in() -> None:
    assert visible_fields(request_showing("reason", "customer.tier")) == [
        ("reason", "Broken on arrival"),
        ("customer.tier", "gold"),
    ]


def test_a_named_field_the_payload_lacks_is_left_out_not_shown_blank() -> None:
    assert visible_fields(request_showing("amount", "missing", "customer.missing")) == [
        ("amount", "120.5")
    ]


def test_another_payload_is_filtered_by_the_same_policy() -> None:
    approval = request_showing("amount")
    assert visible_fields(approval, {"amount": 99, "secret": "x"}) == [("amount", "99")]


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 3, 1, 9, 30, tzinfo=UTC), "2026-03-01T09:30:00Z"),
        (
            datetime(2026, 3, 1, 11, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-03-01T09:30:00.000005Z",
        ),
        (None, None),
    ],
)
def test_iso_z_is_utc_with_a_z(moment: datetime | None, text: str | None) -> None:
    assert iso_z(moment) == text


def test_absolute_url_is_the_named_route_under_site_url(settings: Any) -> None:
    settings.SITE_URL = "https://checkpoint.example.com"
    pk = "0190c0de-0000-7000-8000-000000000001"
    assert absolute_url("inbox") == "https://checkpoint.example.com/inbox/"
    assert absolute_url("inbox_detail", pk) == f"https://checkpoint.example.com/inbox/{pk}/"
