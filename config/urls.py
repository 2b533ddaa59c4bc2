from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from approvals.api import api

urlpatterns = [
    path("", RedirectView.as_view(url="/inbox/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("d/", include("approvals.deeplinks")),  # email deep links (CONTRACT §4)
    path("exports/", include("approvals.exports")),  # the audit CSV (CONTRACT §5)
    path("settings/", include("approvals.profile")),  # a reviewer's own out-of-office and digest
    path("", include("approvals.urls")),  # /inbox/, /healthz
]
