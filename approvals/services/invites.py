"""A manager invites a reviewer from the admin (docs/operations.md "Users and roles").

`reviewer_invite` creates the user (no usable password) or finds the one with that email, adds
them to the chosen groups, records the audit entry, and after commit emails a set-password link.
The link is allauth's password-reset-from-key link: Django's token generator signs it with the
user's password hash and last login, so it stops working once used, and after
PASSWORD_RESET_TIMEOUT. Inviting the same email again adds the new groups and sends a fresh
link. There is no outbox event: outbox events are callbacks about requests (docs/api.md), and
an invitation concerns no request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from approvals.exceptions import ApprovalError
from approvals.models import Membership, ReviewerGroup
from approvals.services.audit import audit_append
from approvals.services.manager import _check

log = logging.getLogger(__name__)


def set_password_url(user: Any) -> str:
    """The absolute set-password link for `user` (allauth's reset-from-key page)."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return settings.SITE_URL + path


def _free_username(email: str) -> str:
    """The email's local part, made unique with a number when taken."""
    User = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", email.split("@")[0])[:140] or "reviewer"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}{n}"
    return name


def _find_user(email: str) -> Any:
    User = get_user_model()
    by_address = EmailAddress.objects.filter(email__iexact=email).values("user_id")
    return User.objects.filter(Q(email__iexact=email) | Q(pk__in=by_address)).order_by("pk").first()


@transaction.atomic
def reviewer_invite(
    *, email: str, groups: Sequence[ReviewerGroup], manager: Any, name: str = ""
) -> tuple[Any, bool, list[str]]:
    """Create or find the reviewer with `email`, add them to `groups`, email a set-password link.

    Returns (user, created, slugs of the groups newly joined). Raises ApprovalError for a bad
    email or no group (nothing written), NotAllowed when `manager` is not a manager.
    """
    actor = _check(manager)
    # allauth keeps addresses in lower case; so do we, so one address is one person.
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApprovalError(f"{email!r} is not an email address.", field="email") from None
    if not groups:
        raise ApprovalError("Choose at least one group.", field="groups")
    name = " ".join(name.split())[:150]
    user = _find_user(email)
    created = user is None
    if user is None:
        user = get_user_model()(username=_free_username(email), email=email)
        user.set_unusable_password()
        if name:
            first, _, last = name.partition(" ")
            user.first_name, user.last_name = first[:150], last[:150]
        user.save()
    elif not user.email:
        user.email = email
        user.save(update_fields=["email"])
    # allauth signs in by email through its EmailAddress table.
    EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(primary=False)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    joined = []
    for group in sorted(groups, key=lambda g: g.slug):
        _, new = Membership.objects.get_or_create(group=group, user=user)
        if new:
            joined.append(group.slug)
    audit_append(
        action="reviewer_invited",
        actor=actor,
        data={
            "reviewer": user.get_username(),
            "email": email,
            "created": created,
            "groups": sorted(g.slug for g in groups),
            "groups_joined": joined,
        },
    )
    user_id, inviter = user.pk, actor

    def send() -> None:
        try:
            send_invitation(user_id=user_id, inviter=inviter)
        except Exception:
            # The invitation is recorded; the manager can invite again to resend.
            log.warning("could not email the invitation to user %s", user_id, exc_info=True)

    transaction.on_commit(send)
    return user, created, joined


def send_invitation(*, user_id: int, inviter: str) -> int:
    """Email the set-password link (a fresh token at sending time)."""
    user = get_user_model().objects.get(pk=user_id)
    groups = list(
        ReviewerGroup.objects.filter(memberships__user=user)
        .order_by("name")
        .values_list("name", flat=True)
    )
    context = {
        "user": user,
        "inviter": inviter,
        "groups": groups,
        "set_password_url": set_password_url(user),
        "login_url": settings.SITE_URL + reverse("account_login"),
    }
    message = EmailMultiAlternatives(
        subject="You are invited to review in Checkpoint",
        body=render_to_string("emails/invite.txt", context),
        to=[user.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("emails/invite.html", context), "text/html")
    return message.send()
