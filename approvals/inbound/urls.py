"""Routes of inbound sources; included before the intake API, whose catch-all 404 would
otherwise answer for /api/v1/inbound/<slug>."""

from __future__ import annotations

from django.urls import path

from approvals.inbound import views

urlpatterns = [
    path("api/v1/inbound/<slug:slug>", views.inbound, name="inbound"),
]
