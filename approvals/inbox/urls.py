"""Routes of the reviewers' pages: the inbox, email deep links and the Settings page."""

from __future__ import annotations

from django.urls import path

from approvals.inbox import deeplinks, settings_page, views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/bulk/", views.inbox_bulk, name="inbox_bulk"),
    # <str:pk>: a malformed id reaches the access helper and is the same 404 as a missing one.
    path("inbox/<str:pk>/", views.inbox_detail, name="inbox_detail"),
    path("inbox/<str:pk>/decide", views.inbox_decide, name="inbox_decide"),
    path("inbox/<str:pk>/claim", views.inbox_claim, name="inbox_claim"),
    path("inbox/<str:pk>/release", views.inbox_release, name="inbox_release"),
    path("d/<str:token>/", deeplinks.deeplink, name="deeplink"),
    path("settings/", settings_page.settings_page, name="settings"),
]
