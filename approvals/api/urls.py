"""Routes of the intake API: django-ninja's router for /api/v1/."""

from __future__ import annotations

from django.urls import path

from approvals.api import api

urlpatterns = [
    path("api/v1/", api.urls),
]
