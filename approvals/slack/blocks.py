"""Block Kit for one request: the message with its decision buttons, its decided form, and the
modal that asks for a comment or a value.

Only the policy's visible fields are ever put in a message (the one rule every channel
uses, `approvals.formats.visible_fields`); no link in a message changes anything when fetched, because Slack unfurls
and prefetches links: the only link is the inbox page, and decisions arrive as signed button
clicks.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from approvals.formats import absolute_url, visible_fields
from approvals.models import ApprovalRequest, Decision, DecisionOption, Outcome

DECIDE_PREFIX = "decide:"
OPEN_ACTION = "open"
MODAL_CALLBACK = "checkpoint_decide"
FIELDS_PER_SECTION = 10  # Slack's limit for a section's fields
FIELD_CHARS = 1900  # a field's text is at most 2000 characters
STATUS_ICONS: dict[str, str] = {
    ApprovalRequest.Status.APPROVED: ":white_check_mark:",
    ApprovalRequest.Status.REJECTED: ":no_entry:",
    ApprovalRequest.Status.CHANGES_REQUESTED: ":leftwards_arrow_with_hook:",
    ApprovalRequest.Status.EXPIRED: ":hourglass:",
    ApprovalRequest.Status.CANCELLED: ":heavy_multiplication_x:",
}


def escape(text: str) -> str:
    """mrkdwn text: the three characters Slack asks apps to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(at: datetime) -> str:
    """A time every reader sees in their own time zone, with a UTC fallback."""
    fallback = timezone.localtime(at).strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def final_decision(approval: ApprovalRequest) -> Decision | None:
    return (
        Decision.objects.filter(approval=approval, is_final=True)
        .order_by("-decided_at", "-id")
        .first()
    )


def outcome_text(approval: ApprovalRequest) -> str:
    """The line a decided message shows instead of its buttons: outcome, who, when."""
    icon = STATUS_ICONS.get(approval.status, "")
    status = approval.get_status_display()
    last = final_decision(approval)
    if last is None:
        at = approval.decided_at or approval.updated_at
        return f"{icon} *{status}* at {slack_date(at)}"
    text = (
        f"{icon} *{status}* by {escape(last.decided_by_name)} at {slack_date(last.decided_at)}"
        f" ({last.get_channel_display()})"
    )
    if last.option_label:
        text += f" · {escape(last.option_label)}"
    if last.value:
        text += f"\n*Value:* {escape(_cut(last.value, 500))}"
    if last.comment and last.channel != Decision.Channel.AUTO:
        text += f"\n> {escape(_cut(last.comment, 1000))}"
    return text


def inbox_url(approval: ApprovalRequest) -> str:
    return absolute_url("inbox_detail", approval.pk)


def _field_sections(approval: ApprovalRequest) -> list[dict[str, Any]]:
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{escape(name)}*\n{escape(value)}", FIELD_CHARS)}
        for name, value in visible_fields(approval)
    ]
    return [
        {"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]}
        for start in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def _head(approval: ApprovalRequest) -> list[dict[str, Any]]:
    policy = approval.policy
    about = f"*{escape(policy.name)}*"
    if policy.summary:
        about += f"\n{escape(_cut(policy.summary, 2500))}"
    return [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(approval.title, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": about}},
        *_field_sections(approval),
    ]


def _facts(approval: ApprovalRequest) -> str:
    facts = [f"Due {slack_date(approval.due_at)}" if approval.due_at else "No due time"]
    if approval.stage_plan:
        facts.append(f"Stage {approval.stage} of {len(approval.stage_plan)}")
    if approval.assigned_group is not None:
        facts.append(escape(approval.assigned_group.name))
    if approval.escalated:
        facts.append(":rotating_light: escalated")
    return " · ".join(facts)


def _button(option: DecisionOption, approval: ApprovalRequest) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": f"{DECIDE_PREFIX}{option.key}",
        "text": {"type": "plain_text", "text": _cut(option.label, 75)},
        "value": str(approval.pk),
    }
    if option.outcome == Outcome.APPROVE:
        button["style"] = "primary"
    elif option.outcome == Outcome.REJECT:
        button["style"] = "danger"
    return button


def pending_blocks(
    approval: ApprovalRequest, options: list[DecisionOption]
) -> list[dict[str, Any]]:
    """The message a request waiting on a decision is posted with."""
    buttons = [_button(option, approval) for option in options[:24]]
    buttons.append(
        {
            "type": "button",
            "action_id": OPEN_ACTION,
            "text": {"type": "plain_text", "text": "Open in Checkpoint"},
            "url": inbox_url(approval),
        }
    )
    return [
        *_head(approval),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _facts(approval)}]},
        {"type": "actions", "block_id": "decide", "elements": buttons},
    ]


def _closed(approval: ApprovalRequest, line: str) -> list[dict[str, Any]]:
    link = f"<{inbox_url(approval)}|Open in Checkpoint>"
    return [
        *_head(approval),
        {"type": "section", "text": {"type": "mrkdwn", "text": line}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": link}]},
    ]


def decided_blocks(approval: ApprovalRequest) -> list[dict[str, Any]]:
    """The same message once the request is final: outcome, who, when, and no buttons."""
    return _closed(approval, outcome_text(approval))


def moved_on_blocks(approval: ApprovalRequest, stage: int) -> list[dict[str, Any]]:
    """A message of an earlier stage once the request has moved on: no buttons."""
    group = approval.assigned_group.name if approval.assigned_group else "the next group"
    line = (
        f":arrow_right: Stage {stage} is done; the request moved on to stage "
        f"{approval.stage} ({escape(group)})."
    )
    return _closed(approval, line)


def fallback_text(approval: ApprovalRequest) -> str:
    """The notification text (and what screen readers get) for a message."""
    if approval.status == ApprovalRequest.Status.PENDING:
        return _cut(f"Decision needed: {approval.title}", 300)
    return _cut(f"{approval.get_status_display()}: {approval.title}", 300)


def modal_view(approval: ApprovalRequest, option: DecisionOption) -> dict[str, Any]:
    """The modal asking for a comment (a reason, for Reject) and/or a value."""
    reason = option.outcome == Outcome.REJECT
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{escape(_cut(approval.title, 2000))}*"},
        }
    ]
    if option.needs_value:
        blocks.append(
            {
                "type": "input",
                "block_id": "value",
                "label": {"type": "plain_text", "text": "Value"},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 2000},
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": "comment",
            "optional": not option.needs_comment,
            "label": {"type": "plain_text", "text": "Reason" if reason else "Comment"},
            "element": {
                "type": "plain_text_input",
                "action_id": "comment",
                "multiline": True,
                "max_length": 3000,
            },
        }
    )
    metadata = {"a": str(approval.pk), "o": option.key, "s": approval.stage}
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": _cut(option.label, 24)},
        "submit": {"type": "plain_text", "text": _cut(option.label, 24)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }
