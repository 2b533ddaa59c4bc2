"""How Checkpoint writes a value for people and machines, each rule in one place.

The inbox, email, deep-link pages, Slack, the API, callbacks and the CSV export all call these,
so a boolean, an amount, a timestamp or a link reads the same on every channel (docs/api.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple, overload

from django.conf import settings
from django.urls import reverse

from approvals.models import ApprovalRequest


@overload
def iso_z(value: datetime) -> str: ...
@overload
def iso_z(value: None) -> None: ...
def iso_z(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a trailing "Z" ("2026-03-01T09:30:00.123456Z"); None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def absolute_url(viewname: str, *args: Any) -> str:
    """The full address of a named route on this site: `reverse()` under settings.SITE_URL."""
    return settings.SITE_URL + reverse(viewname, args=args or None)


def _payload_value(payload: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if not isinstance(payload, dict) or part not in payload:
            return False, None
        payload = payload[part]
    return True, payload


# Number fields read as money when their name says so (the last part of a dotted name) or
# the schema says `"format": "money"`: two decimals (none for a whole amount), thousands
# separators, and the payload's `currency` code in front (docs/api.md "Reviewer pages and email links").
MONEY_NAMES = frozenset(
    {"amount", "price", "total", "subtotal", "cost", "fee", "value", "balance", "budget", "refund"}
)
MONEY_SUFFIXES = ("_amount", "_price", "_total", "_cost", "_fee", "_value")


class Shown(NamedTuple):
    """One visible payload field: its path, the label a person reads, the value as text."""

    key: str
    label: str
    text: str


def humanise(path: str) -> str:
    """A field name for people: `order_id` -> "Order id", `customer.tier` -> "Customer tier"."""
    words = path.replace(".", " ").replace("_", " ").replace("-", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else path


def _schema_property(schema: Any, path: str) -> dict[str, Any]:
    for part in path.split("."):
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(properties, dict) or not isinstance(properties.get(part), dict):
            return {}
        schema = properties[part]
    return schema if isinstance(schema, dict) else {}


def field_label(schema: Any, path: str) -> str:
    """The schema's `title` for the field when it has one, else the humanised name."""
    title = _schema_property(schema, path).get("title")
    return title.strip() if isinstance(title, str) and title.strip() else humanise(path)


def _is_money(path: str, prop: dict[str, Any]) -> bool:
    if prop.get("format") == "money":
        return True
    name = path.rsplit(".", 1)[-1].lower()
    return name in MONEY_NAMES or name.endswith(MONEY_SUFFIXES)


def format_number(value: int | float, *, money: bool = False, currency: str = "") -> str:
    """`320000` -> "320,000"; money: `511.2` -> "511.20", with a currency "USD 511.20"."""
    if money:
        whole = float(value).is_integer()
        text = f"{value:,.0f}" if whole else f"{value:,.2f}"
        return f"{currency} {text}" if currency else text
    if isinstance(value, int):
        return f"{value:,}"
    integer, _, fraction = repr(value).partition(".")
    if "e" in repr(value) or not integer.lstrip("-").isdigit():
        return repr(value)  # 1e+20, inf: as Python writes them
    return f"{int(integer):,}" + (f".{fraction}" if fraction else "")


def shown_value(value: Any, *, money: bool = False, currency: str = "") -> str:
    """A payload value as a reviewer reads it: text as is, numbers with thousands separators
    (money with two decimals and its currency), everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, money=money, currency=currency)
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _currency(payload: Any) -> str:
    code = payload.get("currency") if isinstance(payload, dict) else None
    return code.upper() if isinstance(code, str) and len(code) == 3 and code.isalpha() else ""


def visible_values(approval: ApprovalRequest, payload: Any = None) -> list[Shown]:
    """The payload fields the policy shows reviewers, in its order, labelled and written out.

    The policy's `visible_fields` names the fields (a dotted name reaches into an object); when
    it names none, every top-level field is shown. A field outside the list never reaches a
    page, an email or a message, not even hidden. A named field the payload lacks is left out
    rather than shown empty, so a reviewer never mistakes "absent" for "blank". The label is
    the payload schema's `title`, else the humanised name (`order_id` -> "Order id"). Values:
    text as is; numbers with thousands separators, money (by name or `"format": "money"`)
    with two decimals and the payload's `currency` ("USD 511.20"); the rest as JSON (`true`,
    `null`, `["a", "b"]`). `payload` defaults to the request's own (the inbox passes the
    previous revision's to show what changed).
    """
    payload = approval.payload if payload is None else payload
    policy = approval.policy
    schema = policy.payload_schema or {}
    names = policy.visible_fields or list(payload)
    currency = _currency(payload)
    shown = []
    for name in map(str, names):
        present, value = _payload_value(payload, name)
        if not present:
            continue
        money = _is_money(name, _schema_property(schema, name))
        text = shown_value(value, money=money, currency=currency)
        shown.append(Shown(name, field_label(schema, name), text))
    return shown


def visible_fields(approval: ApprovalRequest, payload: Any = None) -> list[tuple[str, str]]:
    """(label, text) pairs of `visible_values`, for channels that only print them (email,
    Slack, the email link's page)."""
    return [(field.label, field.text) for field in visible_values(approval, payload)]


# How much of each field and of the whole goes into the search column: a long draft is still
# found by its opening words, and the trigram index stays small.
SEARCH_FIELD_CHARS = 500
SEARCH_TEXT_CHARS = 4000


def search_text(approval: ApprovalRequest) -> str:
    """What the inbox's search matches (`ApprovalRequest.search_text`): the title, the external
    id and the values of the fields the policy shows reviewers, lower-cased, one per line.

    Hidden fields are left out, so a search can never reveal a value the page would not show.
    """
    parts = [approval.title, approval.external_id]
    parts += [field.text[:SEARCH_FIELD_CHARS] for field in visible_values(approval)]
    return "\n".join(part for part in parts if part).lower()[:SEARCH_TEXT_CHARS]
