"""Routes of the audit trail: the CSV export."""

from __future__ import annotations

from django.urls import path

from approvals.audit import views

urlpatterns = [
    path("exports/audit.csv", views.audit_csv, name="export_audit_csv"),
]
