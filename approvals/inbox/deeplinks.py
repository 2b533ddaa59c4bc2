"""Email deep links `/d/<token>/` (docs/api.md "Reviewer pages and email links"): decide from an email, safely.

Mail scanners and link previewers fetch every link in a message, so GET and HEAD only show
the request and a confirm button; only a POST (with its CSRF token) decides, through
`approval_decide(channel="email")`.

The token is a `django.core.signing` value (salted, timestamped) naming a `DeepLink` row and,
in it, one reviewer, one request, one stage and one option (docs/security.md "Email links").
Showing the page changes nothing. The link is refused, with nothing changed:

- after DEEP_LINK_HOURS, once spent by the POST that decided, or revoked by an admin;
- once the request is decided, its stage moved on, or it was handed to another reviewer;
- when the reviewer is deactivated or leaves the group;
- when someone else is signed in (the page does not say whose link it is);
- for deciding without signing in, when the policy says "email decisions need sign-in" or
  the reviewer has a second factor: the page then shows the request and asks to sign in.

The page never logs anyone in. Its tokens are scrubbed from every log line
(approvals/security/logging.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from approvals.exceptions import ApprovalError, InvalidDecision
from approvals.formats import absolute_url, visible_fields
from approvals.models import ApprovalRequest, Decision, DecisionOption, DeepLink, Membership
from approvals.services.approvals import already_decided
from approvals.services.deeplinks import (
    MAX_LINKS,
    LinkAlreadyUsed,
    deeplink_decide,
    deeplink_issue,
    deeplink_rows,
)

SALT = "checkpoint.deeplink.v2"


# --- tokens ------------------------------------------------------------------------------------


def _sign(link: DeepLink) -> str:
    return _signed(link.pk, link.reviewer_id, link.approval_id, link.stage, link.option_key)


def _signed(link_id: int, reviewer_id: int, approval_id: Any, stage: int, option_key: str) -> str:
    data = {"l": link_id, "r": reviewer_id, "a": str(approval_id), "s": stage, "o": option_key}
    return signing.dumps(data, salt=SALT, compress=True)


def make_tokens(
    *, reviewer: Any, approval: ApprovalRequest, option_keys: list[str]
) -> dict[str, str]:
    """One live link per option (one INSERT for all): option key -> token."""
    links = deeplink_issue(reviewer=reviewer, approval=approval, option_keys=option_keys)
    return {link.option_key: _sign(link) for link in links}


def issue_tokens(
    *, reviewer_id: int, approval_id: Any, stage: int, option_keys: list[str]
) -> dict[str, str]:
    """`make_tokens` inside the caller's transaction (a notice's, with its claim), without
    model instances; option keys distinct and at most `MAX_LINKS` (else `make_tokens`)."""
    if not 0 < len(option_keys) <= MAX_LINKS or len(set(option_keys)) != len(option_keys):
        reviewer = get_user_model()(pk=reviewer_id)
        approval = ApprovalRequest(pk=approval_id, stage=stage)
        return make_tokens(reviewer=reviewer, approval=approval, option_keys=option_keys)
    ids = deeplink_rows(
        reviewer_id=reviewer_id, approval_id=approval_id, stage=stage, option_keys=option_keys
    )
    return {key: _signed(ids[key], reviewer_id, approval_id, stage, key) for key in option_keys}


def make_token(*, reviewer: Any, approval: ApprovalRequest, option_key: str) -> str:
    """A link token for this reviewer to pick `option_key` on the request's current stage."""
    return make_tokens(reviewer=reviewer, approval=approval, option_keys=[option_key])[option_key]


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
    link: DeepLink
    approval: ApprovalRequest
    reviewer: Any
    option: DecisionOption


def _expired() -> DeadLink:
    return DeadLink(
        410,
        "This link has expired",
        f"Links in emails work for {settings.DEEP_LINK_HOURS} hours. "
        "Open the request from your inbox instead.",
    )


class NotYours(DeadLink):
    """Someone other than the link's reviewer is signed in; the page never says who it is for."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "This link belongs to another reviewer",
            "This link belongs to another reviewer; sign out or open your inbox.",
        )


def load_token(token: str) -> dict[str, Any]:
    """The signed data of a well-formed, unexpired token, or DeadLink (nothing is read)."""
    max_age = timedelta(hours=settings.DEEP_LINK_HOURS)
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise _expired() from None
    except signing.BadSignature:
        raise DeadLink(
            400,
            "This link is not valid",
            "The link may have been cut short or changed. Open the request from your inbox.",
        ) from None
    if not (isinstance(data, dict) and {"l", "r", "a", "s", "o"} <= data.keys()):
        raise DeadLink(400, "This link is not valid", "The link is not a decision link.")
    try:
        data["a"] = uuid.UUID(str(data["a"]))
    except ValueError:
        raise DeadLink(400, "This link is not valid", "The link is not a decision link.") from None
    return data


def resolve_token(data: dict[str, Any]) -> LinkTarget:
    """The link, request, reviewer and option of `load_token`'s data, or DeadLink saying why
    the link cannot be used."""
    link = (
        DeepLink.objects.select_related("approval__policy", "approval__assigned_group")
        .filter(pk=data["l"])
        .first()
    )
    if link is None:
        if not ApprovalRequest.objects.filter(pk=data["a"]).exists():
            raise DeadLink(404, "Request not found", "This request does not exist.")
        raise DeadLink(400, "This link is not valid", "The link is not a decision link.")
    if (
        link.reviewer_id != data["r"]
        or link.approval_id != data["a"]
        or link.stage != data["s"]
        or link.option_key != data["o"]
    ):
        raise DeadLink(400, "This link is not valid", "The link is not a decision link.")
    if link.revoked_at is not None:
        raise DeadLink(403, "This link was revoked", "An administrator revoked this link.")
    if link.used_at is not None:
        raise DeadLink(410, "This link was already used", "Each link in an email decides once.")
    if link.expires_at <= timezone.now():
        raise _expired()
    approval = link.approval
    reviewer = get_user_model().objects.filter(pk=link.reviewer_id, is_active=True).first()
    if reviewer is None:
        raise DeadLink(
            403, "This link was revoked", "The reviewer this link was sent to is no longer active."
        )
    if approval.status != ApprovalRequest.Status.PENDING:
        raise DeadLink(410, "Already decided", already_decided(approval).message)
    if approval.assignee_id is not None and approval.assignee_id != reviewer.pk:
        raise DeadLink(
            410,
            "This link was withdrawn",
            "The request was handed to another reviewer. Open your inbox to see your work.",
        )
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
    return LinkTarget(link=link, approval=approval, reviewer=reviewer, option=option)


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
    context = {"dead": dead, "not_yours": isinstance(dead, NotYours)}
    return _respond(request, "approvals/deeplink_dead.html", context, dead.status)


def needs_sign_in(request: HttpRequest, target: LinkTarget) -> bool:
    """Whether deciding with this link needs the reviewer signed in (not just the link)."""
    if request.user.is_authenticated:
        return False  # signed in as the link's reviewer: the view checked who it is
    return target.approval.policy.email_decisions_need_sign_in or is_mfa_enabled(target.reviewer)


def _confirm(
    request: HttpRequest,
    target: LinkTarget,
    form: ConfirmForm,
    status: int,
    *,
    sign_in: bool = False,
) -> HttpResponse:
    approval = target.approval
    context = {
        "approval": approval,
        "option": target.option,
        "reviewer": target.reviewer,
        "fields": visible_fields(approval),
        "form": form,
        "inbox_url": reverse("inbox_detail", args=[approval.pk]),
        "sign_in": sign_in,
        # Back to this page after signing in (the token in it is scrubbed from the logs).
        "login_url": reverse("account_login") + "?" + urlencode({"next": request.path}),
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
        data = load_token(token)
        if request.user.is_authenticated and request.user.pk != data["r"]:
            # Before anything about the request is read: another person's link shows nothing.
            raise NotYours
        target = resolve_token(data)
    except DeadLink as dead:
        return _dead(request, dead)
    approval = target.approval
    sign_in = needs_sign_in(request, target)
    if request.method != "POST":
        initial = {"approval": approval.pk}
        return _confirm(
            request,
            target,
            ConfirmForm(option=target.option, initial=initial),
            200,
            sign_in=sign_in,
        )
    form = ConfirmForm(request.POST, option=target.option)
    if sign_in:
        form.is_valid()  # show what was typed again
        form.add_error(None, "Sign in to decide: this decision needs you signed in.")
        return _confirm(request, target, form, 403, sign_in=True)
    if not form.is_valid():
        return _confirm(request, target, form, 422)
    if form.cleaned_data["approval"] != approval.pk:
        return _dead(
            request,
            DeadLink(400, "This link is not valid", "The form does not match this link's request."),
        )
    try:
        decision = deeplink_decide(
            link=target.link,
            approval=approval,
            reviewer=target.reviewer,
            comment=form.cleaned_data.get("comment", ""),
            value=form.cleaned_data.get("value", ""),
        )
    except LinkAlreadyUsed:
        return _dead(
            request,
            DeadLink(410, "This link was already used", "Each link in an email decides once."),
        )
    except InvalidDecision as exc:
        form.add_error(None, exc.message)
        return _confirm(request, target, form, 422)
    except ApprovalError as exc:
        return _dead(request, DeadLink(exc.status_code, "Nothing was changed", exc.message))
    approval.refresh_from_db()
    context = {"approval": approval, "decision": decision, "option": target.option}
    return _respond(request, "approvals/deeplink_done.html", context, 200)
