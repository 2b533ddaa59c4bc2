"""The "approve and remember" part of the decision form (docs/agents.md): which visible fields
later requests must match (ticked by default as the option says) and for how long."""

from __future__ import annotations

import json
from typing import Any

from approvals.inbox.forms import DecideForm
from approvals.models import ApprovalRequest, DecisionOption, StandingApproval
from approvals.standing.selectors import remember_field_choices

DURATION_LABELS: dict[str, str] = {"1h": "1 hour", "1d": "1 day", "7d": "7 days"}
DEFAULT_DURATION = "1h"
assert set(DURATION_LABELS) == set(StandingApproval.DURATIONS)


def remember_context(
    approval: ApprovalRequest, options: list[DecisionOption], form: DecideForm | None
) -> dict[str, Any] | None:
    """None when no option remembers; else the fields to tick and the durations to offer.

    After a refused POST the reviewer's own ticks and duration are kept.
    """
    option = next((o for o in options if o.remember), None)
    if option is None:
        return None
    choices = remember_field_choices(approval)
    posted = form is not None and form.is_bound
    if posted:
        assert form is not None
        ticked = set(form.data.getlist("remember_fields"))  # type: ignore[attr-defined]
        duration = form.data.get("remember_for") or DEFAULT_DURATION
    else:
        ticked = set(option.remember_fields or [name for name, _ in choices])
        duration = DEFAULT_DURATION
    return {
        "label": option.label,
        "fields": [
            {
                "name": name,
                "value": value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
                "checked": name in ticked,
            }
            for name, value in choices
        ],
        "durations": list(DURATION_LABELS.items()),
        "duration": duration,
    }
