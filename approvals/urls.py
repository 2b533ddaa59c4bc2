from __future__ import annotations

from django.urls import path

from approvals import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("inbox/", views.inbox, name="inbox"),
    # <str:pk>: a malformed id reaches the access helper and is the same 404 as a missing one.
    path("inbox/<str:pk>/", views.inbox_detail, name="inbox_detail"),
    path("inbox/<str:pk>/decide", views.inbox_decide, name="inbox_decide"),
    path("inbox/<str:pk>/claim", views.inbox_claim, name="inbox_claim"),
    path("inbox/<str:pk>/release", views.inbox_release, name="inbox_release"),
]
