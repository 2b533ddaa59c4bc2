"""Two small middlewares after allauth's (docs/security.md "Sign-in, MFA and sessions").

- `IdleTimeoutMiddleware`: a signed-in session that saw no request for SESSION_IDLE_MINUTES is
  signed out and sent to the login page. The last-seen time is written at most once a minute,
  so a busy page does not write its session on every request.
- `MfaRequiredMiddleware`: people who must have a second factor and have none enrolled are sent
  to allauth's TOTP page before anything else: staff on every page, holders of
  `approvals.export_audit` on the export, everyone when MFA_REQUIRED_FOR_ALL is on. Enrolled
  people prove the factor at sign-in (allauth asks for it), so the check here is only "enrolled".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout, user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

LAST_SEEN_KEY = "checkpoint_last_seen"
# Seconds between two writes of the last-seen time (the timeout is minutes, not seconds).
LAST_SEEN_GRANULARITY = 60
EXPORT_PERMISSION = "approvals.export_audit"

Middleware = Callable[[HttpRequest], HttpResponse]


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    # An HTMX request would swap the login page into a fragment; send the browser instead.
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


@receiver(user_logged_in)
def _stamp_sign_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = int(time.time())
            last_seen = session.get(LAST_SEEN_KEY)
            if isinstance(last_seen, int) and now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
                messages.info(
                    request,
                    f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes "
                    "without activity. Sign in again to continue.",
                )
                login = redirect_to_login(request.get_full_path())
                return _redirect(request, login["Location"])
            if not isinstance(last_seen, int) or now - last_seen >= LAST_SEEN_GRANULARITY:
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)


def mfa_required(user: Any, path: str) -> bool:
    """Whether `user` must have a second factor enrolled to open `path`."""
    if settings.MFA_REQUIRED_FOR_ALL or user.is_staff:
        return True
    return path == reverse("export_audit_csv") and user.has_perm(EXPORT_PERMISSION)


class MfaRequiredMiddleware:
    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response
        # allauth's own pages (enrolment, sign-out, sessions, re-authentication) stay open.
        self.open_prefixes = ("/accounts/", settings.STATIC_URL)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(self.open_prefixes)
            and mfa_required(user, request.path)
            and not is_mfa_enabled(user)
        ):
            messages.warning(
                request,
                "Your account needs a second factor. Set up an authenticator app to continue.",
            )
            return _redirect(request, reverse("mfa_activate_totp"))
        return self.get_response(request)
