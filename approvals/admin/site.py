"""The managers' admin site: Django's admin plus the dashboard and the what-if page.

Installed as the default site through `approvals.apps.CheckpointAdminConfig`, so every
`@admin.register` in this package lands here and `admin.site` is this object.

Its login is allauth's (`secure_admin_login`, docs/security.md "Sign-in, MFA and sessions"):
Django's own admin login form would skip the second factor and the rate limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from approvals.admin.dashboard import dashboard_view, index_entries
from approvals.admin.invites import invite_view
from approvals.admin.whatif import whatif_view
from approvals.security.reauth import reauthenticate_if_stale


class CheckpointAdminSite(admin.AdminSite):
    site_header = "Checkpoint administration"
    site_title = "Checkpoint"
    index_title = "Policies, reviewers and the audit trail"

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            path("approvals/dashboard/", self._page(dashboard_view), name="approvals_dashboard"),
            path(
                "approvals/what-if/",
                self._page(reauthenticate_if_stale(whatif_view)),  # its POST saves a policy
                name="approvals_whatif",
            ),
            path("approvals/invite/", self._page(invite_view), name="approvals_invite"),
            *super().get_urls(),
        ]

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # Anonymous visitors go to /accounts/login/ (rate limits, lockout, second factor) and
        # come back; signed-in non-staff get a 403; staff go on to the admin.
        return secure_admin_login(super().login)(request, extra_context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            if app["app_label"] == "approvals":
                app["models"][:0] = index_entries(request)
        return app_list

    def _page(self, view: Callable[[HttpRequest, admin.AdminSite], HttpResponse]) -> Any:
        # admin_view: staff only (others go to the admin login), no caching, CSRF.
        return self.admin_view(lambda request: view(request, self))
