"""How Checkpoint writes a value for people and machines, each rule in one place.

The inbox, email, deep-link pages, the API, callbacks and the CSV export all call these, so a
boolean, a timestamp or a link reads the same on every channel (docs/api.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, overload

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


def shown_value(value: Any) -> str:
    """A payload value as a reviewer reads it: text as is, everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def visible_fields(approval: ApprovalRequest, payload: Any = None) -> list[tuple[str, str]]:
    """The (name, text) pairs of the payload fields the policy shows reviewers, in its order.

    The policy's `visible_fields` names the fields (a dotted name reaches into an object); when
    it names none, every top-level field is shown. A field outside the list never reaches a
    page, an email or a message, not even hidden. A named field the payload lacks is left out
    rather than shown empty, so a reviewer never mistakes "absent" for "blank". Values read as
    JSON except text: `true`/`false`, `null`, `12.5`, `["a", "b"]`, `{"k": 1}`; a string is
    shown without quotes. `payload` defaults to the request's own (the inbox passes the
    previous revision's to show what changed).
    """
    payload = approval.payload if payload is None else payload
    names = approval.policy.visible_fields or list(payload)
    found = [(str(name), _payload_value(payload, str(name))) for name in names]
    return [(name, shown_value(value)) for name, (present, value) in found if present]


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
    parts += [value[:SEARCH_FIELD_CHARS] for _, value in visible_fields(approval)]
    return "\n".join(part for part in parts if part).lower()[:SEARCH_TEXT_CHARS]
