"""Every route of Checkpoint, area by area; `config.urls` adds the admin and allauth."""

from __future__ import annotations

from django.urls import include, path
from django.views.generic import RedirectView

from approvals.favicon import favicon
from approvals.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("approvals.inbound.urls")),  # before the API's catch-all 404
    path("", include("approvals.api.urls")),
    path("", include("approvals.inbox.urls")),
    path("", include("approvals.audit.urls")),
    path("", include("approvals.slack.urls")),
]
