"""The contract's ways of writing a value, once for every channel (approvals/formats.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from approvals.formats import absolute_url, format_number, humanise, iso_z, visible_fields
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


def test_values_read_as_json_except_text_and_numbers() -> None:
    shown = dict(visible_fields(request_showing()))
    assert shown == {
        "Amount": "120.50",
        "Refund": "true",
        "Note": "null",
        "Customer": '{"name": "Acme", "tier": "gold"}',
        "Tags": '["vip", "eu"]',
        "Reason": "Broken on arrival",
    }


def test_only_the_named_fields_in_the_policys_order_and_a_dotted_name_reaches_in() -> None:
    assert visible_fields(request_showing("reason", "customer.tier")) == [
        ("Reason", "Broken on arrival"),
        ("Customer tier", "gold"),
    ]


def test_a_named_field_the_payload_lacks_is_left_out_not_shown_blank() -> None:
    assert visible_fields(request_showing("amount", "missing", "customer.missing")) == [
        ("Amount", "120.50")
    ]


def test_another_payload_is_filtered_by_the_same_policy() -> None:
    approval = request_showing("amount")
    assert visible_fields(approval, {"amount": 99, "secret": "x"}) == [("Amount", "99")]


def test_labels_come_from_the_schemas_title_else_the_humanised_name() -> None:
    schema = {
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "title": "Order number"},
            "customer": {"type": "object", "properties": {"tier": {"title": "Customer level"}}},
        },
    }
    approval = ApprovalRequest(
        policy=Policy(
            visible_fields=["order_id", "customer.tier", "reason"], payload_schema=schema
        ),
        payload={**PAYLOAD, "order_id": "A-1"},
    )
    assert visible_fields(approval) == [
        ("Order number", "A-1"),
        ("Customer level", "gold"),
        ("Reason", "Broken on arrival"),
    ]
    assert humanise("order_id") == "Order id"
    assert humanise("customer.billing_city") == "Customer billing city"


def test_money_has_two_decimals_and_the_payloads_currency() -> None:
    approval = ApprovalRequest(
        policy=Policy(visible_fields=["amount", "deal_value", "seats", "ratio", "price"]),
        payload={
            "amount": 511.2,
            "deal_value": 320000,
            "seats": 1200,
            "ratio": 0.125,
            "price": "12",
            "currency": "usd",
        },
    )
    assert visible_fields(approval) == [
        ("Amount", "USD 511.20"),
        ("Deal value", "USD 320,000"),
        ("Seats", "1,200"),
        ("Ratio", "0.125"),
        ("Price", "12"),  # text stays text
    ]


def test_a_schema_can_mark_any_number_as_money() -> None:
    schema = {"properties": {"limit": {"type": "number", "format": "money"}}}
    approval = ApprovalRequest(
        policy=Policy(visible_fields=["limit"], payload_schema=schema), payload={"limit": 1999.5}
    )
    assert visible_fields(approval) == [("Limit", "1,999.50")]


@pytest.mark.parametrize(
    ("value", "money", "text"),
    [
        (320000, False, "320,000"),
        (1234.5, False, "1,234.5"),
        (-1234.25, False, "-1,234.25"),
        (1e21, False, "1e+21"),
        (511.2, True, "511.20"),
        (320000, True, "320,000"),
        (0.005, True, "0.01"),
    ],
)
def test_numbers_are_written_for_people(value: float, money: bool, text: str) -> None:
    assert format_number(value, money=money) == text


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
