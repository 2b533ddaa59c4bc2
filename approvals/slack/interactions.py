"""`/slack/interactions` (docs/api.md "Slack"): button clicks and modal submissions.

Slack's 3-second budget: the view verifies the signature, resolves the Slack user to a
reviewer, makes at most one service call (`approval_decide`, channel "slack") and at most one
Slack call (open the modal, or an ephemeral answer), and returns. Updating every message of
the request happens in the Celery task the decision enqueues after commit.

The Slack user must be a reviewer who may decide the request under the inbox's rules (its
access helper, the current group, one vote each, four-eyes in the service); anybody else gets
an ephemeral refusal and nothing changes.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from approvals.exceptions import ApprovalError, InvalidDecision
from approvals.inbox.access import approval_get_for_reviewer
from approvals.inbox.selectors import reviewer_group_ids
from approvals.models import ApprovalRequest, Decision, DecisionOption, Outcome
from approvals.services import approval_decide
from approvals.services.approvals import already_decided
from approvals.slack import blocks
from approvals.slack.client import slack_client, slack_configured
from approvals.slack.delivery import reviewer_for_slack_user
from approvals.slack.hooks import slack_after_commit

log = logging.getLogger(__name__)

NOT_A_REVIEWER = "You are not a reviewer of this request, so nothing was changed."
INLINE_TIMEOUT = 2  # seconds for the one Slack call a click makes; Slack waits 3 in all


class BadPayload(Exception):
    pass


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(data: Any, *keys: str) -> str:
    found = _dig(data, *keys)
    return found if isinstance(found, str) else ""


def _verified(request: HttpRequest) -> bool:
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    try:
        return verifier.is_valid(
            body=request.body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=request.headers.get("X-Slack-Signature"),
        )
    except (ValueError, TypeError):  # a timestamp that is not a number
        return False


def _payload(request: HttpRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.POST.get("payload") or "")
    except ValueError:
        raise BadPayload from None
    if not isinstance(payload, dict) or not _text(payload, "type"):
        raise BadPayload
    if not _text(payload, "user", "id"):
        raise BadPayload
    return payload


def _ephemeral(payload: dict[str, Any], text: str) -> HttpResponse:
    """Answer only the person who clicked; a Slack failure here is logged, never raised."""
    channel = _text(payload, "channel", "id") or _text(payload, "container", "channel_id")
    if channel:
        try:
            slack_client(timeout=INLINE_TIMEOUT).chat_postEphemeral(
                channel=channel, user=_text(payload, "user", "id"), text=text
            )
        except Exception:
            log.warning("could not answer a Slack click ephemerally", exc_info=True)
    return HttpResponse(status=200)


def _target(payload: dict[str, Any], approval_id: str) -> tuple[Any, ApprovalRequest | None]:
    """The reviewer behind the Slack user and the request, if that reviewer may see it."""
    reviewer = reviewer_for_slack_user(_text(payload, "user", "id"))
    if reviewer is None:
        return None, None
    try:
        return reviewer, approval_get_for_reviewer(user=reviewer, pk=approval_id)
    except Http404:
        return reviewer, None


def _needs_modal(option: DecisionOption) -> bool:
    return option.needs_comment or option.needs_value or option.outcome == Outcome.REJECT


def _click(payload: dict[str, Any]) -> HttpResponse:
    actions = _dig(payload, "actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    action_id = _text(action, "action_id")
    if not action_id.startswith(blocks.DECIDE_PREFIX):
        return HttpResponse(status=200)  # the "Open in Checkpoint" link button
    reviewer, approval = _target(payload, _text(action, "value"))
    if approval is None:
        return _ephemeral(payload, NOT_A_REVIEWER)
    if approval.status != ApprovalRequest.Status.PENDING:
        slack_after_commit(approval, "final")  # this message missed its update: redo it
        return _ephemeral(payload, f"{already_decided(approval).message} Nothing was changed.")
    if approval.assigned_group_id not in reviewer_group_ids(reviewer):
        return _ephemeral(payload, NOT_A_REVIEWER)
    key = action_id[len(blocks.DECIDE_PREFIX) :]
    option = DecisionOption.objects.filter(policy_id=approval.policy_id, key=key).first()
    if option is None:
        return _ephemeral(payload, "This option no longer exists; nothing was changed.")
    if _needs_modal(option):
        return _open_modal(payload, approval, option, reviewer)
    return _decide(payload, approval, reviewer, key)


def _open_modal(
    payload: dict[str, Any], approval: ApprovalRequest, option: DecisionOption, reviewer: Any
) -> HttpResponse:
    if Decision.objects.filter(approval=approval, decided_by=reviewer).exists():
        return _ephemeral(payload, "You have already voted on this request.")
    trigger_id = _text(payload, "trigger_id")
    if not trigger_id:
        raise BadPayload
    try:
        slack_client(timeout=INLINE_TIMEOUT).views_open(
            trigger_id=trigger_id, view=blocks.modal_view(approval, option)
        )
    except Exception:
        log.warning("could not open the Slack decision modal", exc_info=True)
        return _ephemeral(
            payload,
            f"Slack could not open the form; nothing was changed. Decide in Checkpoint: "
            f"{blocks.inbox_url(approval)}",
        )
    return HttpResponse(status=200)


def _decide(
    payload: dict[str, Any], approval: ApprovalRequest, reviewer: Any, key: str
) -> HttpResponse:
    try:
        decision = approval_decide(
            approval=approval, reviewer=reviewer, option=key, channel=Decision.Channel.SLACK
        )
    except ApprovalError as exc:
        return _ephemeral(payload, f"{exc.message} Nothing was changed.")
    if not decision.is_final:
        return _ephemeral(
            payload, f"Your “{decision.option_label}” is recorded; the request waits for more."
        )
    return HttpResponse(status=200)


def _errors(errors: dict[str, str]) -> JsonResponse:
    return JsonResponse({"response_action": "errors", "errors": errors})


def _submission(payload: dict[str, Any]) -> HttpResponse:
    view = _dig(payload, "view")
    if _text(view, "callback_id") != blocks.MODAL_CALLBACK:
        return HttpResponse(status=200)
    try:
        meta = json.loads(_text(view, "private_metadata") or "{}")
    except ValueError:
        raise BadPayload from None
    values = _dig(view, "state", "values")
    comment = _text(values, "comment", "comment", "value").strip()
    value = _text(values, "value", "value", "value").strip()
    reviewer, approval = _target(payload, _text(meta, "a"))
    if approval is None:
        return _errors({"comment": NOT_A_REVIEWER})
    option = DecisionOption.objects.filter(
        policy_id=approval.policy_id, key=_text(meta, "o")
    ).first()
    if option is None:
        return _errors({"comment": "This option no longer exists."})
    errors = {}
    if option.needs_value and not value:
        errors["value"] = "Enter a value."
    if option.needs_comment and not comment:
        errors["comment"] = f"“{option.label}” needs a comment."
    if errors:
        return _errors(errors)
    try:
        approval_decide(
            approval=approval,
            reviewer=reviewer,
            option=option.key,
            comment=comment,
            value=value if option.needs_value else "",
            channel=Decision.Channel.SLACK,
        )
    except InvalidDecision as exc:
        block = exc.field if exc.field == "value" and option.needs_value else "comment"
        return _errors({block: exc.message})
    except ApprovalError as exc:
        return _errors({"comment": exc.message})
    return HttpResponse(status=200)  # an empty 200 closes the modal


@csrf_exempt  # Slack signs the body instead (verified first)
@require_POST
def slack_interactions(request: HttpRequest) -> HttpResponse:
    """Verify, then handle a `block_actions` click or a `view_submission`; 401 if unsigned."""
    if not slack_configured():
        raise Http404("Slack is not connected.")
    if not _verified(request):
        return HttpResponse("Invalid Slack signature.", status=401, content_type="text/plain")
    try:
        payload = _payload(request)
        kind = payload["type"]
        if kind == "block_actions":
            return _click(payload)
        if kind == "view_submission":
            return _submission(payload)
    except BadPayload:
        return HttpResponse("Not a Slack interaction.", status=400, content_type="text/plain")
    return HttpResponse(status=200)  # other interaction types are not ours to handle
