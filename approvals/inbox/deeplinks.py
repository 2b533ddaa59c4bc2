"""Email deep links `/d/<token>/` (docs/api.md "Reviewer pages and email links"): decide from an email, safely.

Mail scanners and link previewers fetch every link in a message, so GET and HEAD only show
the request and a confirm button; only a POST (with its CSRF token) decides, through
`approval_decide(channel="email")`.

The token is the credential: a `django.core.signing` value (salted, timestamped) naming one
reviewer, one request, one stage and one option. It is stateless — nothing is stored, so
showing the page cannot change it — and it dies by itself: after DEEP_LINK_MAX_AGE_HOURS, once
the request is decided or its stage moved on, and when the reviewer is deactivated or leaves
the group. The page never logs anyone in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from approvals.exceptions import ApprovalError, InvalidDecision
from approvals.formats import absolute_url, visible_fields
from approvals.models import ApprovalRequest, Decision, DecisionOption, Membership
from approvals.services import approval_decide
from approvals.services.approvals import already_decided

SALT = "checkpoint.deeplink.v1"


# --- tokens ------------------------------------------------------------------------------------


def make_token(*, reviewer: Any, approval: ApprovalRequest, option_key: str) -> str:
    """A link token for this reviewer to pick `option_key` on the request's current stage."""
    data = {"r": reviewer.pk, "a": str(approval.pk), "s": approval.stage, "o": option_key}
    return signing.dumps(data, salt=SALT, compress=True)


def deeplink_url(token: str) -> str:
    return absolute_url("deeplink", token)


# --- resolving a token --------------------------------------------------------------------------


class DeadLink(Exception):
    """A token that cannot be used; `status` is the 4xx the page is served with."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass
class LinkTarget:
    approval: ApprovalRequest
    reviewer: Any
    option: DecisionOption


def _load(token: str) -> dict[str, Any]:
    max_age = timedelta(hours=settings.DEEP_LINK_MAX_AGE_HOURS)
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise DeadLink(
            410,
            "This link has expired",
            f"Links in emails work for {settings.DEEP_LINK_MAX_AGE_HOURS} hours. "
            "Open the request from your inbox instead.",
        ) from None
    except signing.BadSignature:
        raise DeadLink(
            400,
            "This link is not valid",
            "The link may have been cut short or changed. Open the request from your inbox.",
        ) from None
    if not (isinstance(data, dict) and {"r", "a", "s", "o"} <= data.keys()):
        raise DeadLink(400, "This link is not valid", "The link is not a decision link.")
    try:
        data["a"] = uuid.UUID(str(data["a"]))
    except ValueError:
        raise DeadLink(400, "This link is not valid", "The link is not a decision link.") from None
    return data


def resolve_token(token: str) -> LinkTarget:
    """The request, reviewer and option a live token names, or DeadLink saying why not."""
    data = _load(token)
    approval = (
        ApprovalRequest.objects.select_related("policy", "assigned_group")
        .filter(pk=data["a"])
        .first()
    )
    if approval is None:
        raise DeadLink(404, "Request not found", "This request does not exist.")
    reviewer = get_user_model().objects.filter(pk=data["r"], is_active=True).first()
    if reviewer is None:
        raise DeadLink(
            403, "This link was revoked", "The reviewer this link was sent to is no longer active."
        )
    if approval.status != ApprovalRequest.Status.PENDING:
        raise DeadLink(410, "Already decided", already_decided(approval).message)
    is_member = Membership.objects.filter(
        group_id=approval.assigned_group_id, user=reviewer
    ).exists()
    if approval.stage != data["s"]:
        raise DeadLink(
            410, "This link is out of date", "The request has moved on to another stage."
        )
    if not is_member:
        raise DeadLink(
            403,
            "This link was revoked",
            "You are no longer a reviewer of the group this request waits on.",
        )
    option = DecisionOption.objects.filter(policy_id=approval.policy_id, key=data["o"]).first()
    if option is None:
        raise DeadLink(410, "This link is out of date", "This option no longer exists.")
    if Decision.objects.filter(approval=approval, decided_by=reviewer).exists():
        raise DeadLink(410, "You already voted", "You have already voted on this request.")
    return LinkTarget(approval=approval, reviewer=reviewer, option=option)


# --- the page -----------------------------------------------------------------------------------


class ConfirmForm(forms.Form):
    approval = forms.UUIDField(widget=forms.HiddenInput)
    comment = forms.CharField(
        label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    value = forms.CharField(label="Value", required=False, max_length=2000)

    def __init__(self, *args: Any, option: DecisionOption, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["comment"].required = option.needs_comment
        if option.needs_value:
            self.fields["value"].required = True
        else:
            del self.fields["value"]


def _respond(
    request: HttpRequest, template: str, context: dict[str, Any], status: int
) -> HttpResponse:
    response = render(request, template, context, status=status)
    # The token is in the URL: never pass it on, keep it out of caches and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _dead(request: HttpRequest, dead: DeadLink) -> HttpResponse:
    return _respond(request, "approvals/deeplink_dead.html", {"dead": dead}, dead.status)


def _confirm(
    request: HttpRequest, target: LinkTarget, form: ConfirmForm, status: int
) -> HttpResponse:
    approval = target.approval
    context = {
        "approval": approval,
        "option": target.option,
        "reviewer": target.reviewer,
        "fields": visible_fields(approval),
        "form": form,
        "inbox_url": reverse("inbox_detail", args=[approval.pk]),
    }
    return _respond(request, "approvals/deeplink_confirm.html", context, status)


class _NullOriginCsrf(CsrfViewMiddleware):
    """CSRF protection that accepts `Origin: null`.

    The page sends `Referrer-Policy: no-referrer` (the token is in its URL), and under that
    policy browsers send `Origin: null` with the form's POST, which Django's origin check
    refuses. The CSRF token (cookie and form field) is still required and compared; any other
    Origin is still checked against the site.
    """

    def _origin_verified(self, request: HttpRequest) -> bool:
        if request.META.get("HTTP_ORIGIN") == "null":
            return True
        return super()._origin_verified(request)  # type: ignore[misc]  # not in the stubs


_csrf_protect_null_origin = decorator_from_middleware(_NullOriginCsrf)


@csrf_exempt  # the site-wide check is replaced by _NullOriginCsrf just below, not dropped
@_csrf_protect_null_origin
@require_http_methods(["GET", "HEAD", "POST"])
def deeplink(request: HttpRequest, token: str) -> HttpResponse:
    """GET/HEAD: show the request and a confirm button. POST: decide (channel "email")."""
    try:
        target = resolve_token(token)
    except DeadLink as dead:
        return _dead(request, dead)
    approval = target.approval
    if request.method != "POST":
        return _confirm(
            request,
            target,
            ConfirmForm(option=target.option, initial={"approval": approval.pk}),
            200,
        )
    form = ConfirmForm(request.POST, option=target.option)
    if not form.is_valid():
        return _confirm(request, target, form, 422)
    if form.cleaned_data["approval"] != approval.pk:
        return _dead(
            request,
            DeadLink(400, "This link is not valid", "The form does not match this link's request."),
        )
    try:
        decision = approval_decide(
            approval=approval,
            reviewer=target.reviewer,
            option=target.option.key,
            comment=form.cleaned_data.get("comment", ""),
            value=form.cleaned_data.get("value", ""),
            channel=Decision.Channel.EMAIL,
        )
    except InvalidDecision as exc:
        form.add_error(None, exc.message)
        return _confirm(request, target, form, 422)
    except ApprovalError as exc:
        return _dead(request, DeadLink(exc.status_code, "Nothing was changed", exc.message))
    approval.refresh_from_db()
    context = {"approval": approval, "decision": decision, "option": target.option}
    return _respond(request, "approvals/deeplink_done.html", context, 200)
