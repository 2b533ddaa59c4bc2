"""The production URLconf plus /bench/hello, the floor every HTTP figure is divided by."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

HELLO_PATH = "/bench/hello"


def hello(request: HttpRequest) -> JsonResponse:
    # The least a Django JSON view can do: no database, same middleware and server as the app.
    return JsonResponse({"hello": "world"})


urlpatterns = [
    path(HELLO_PATH.lstrip("/"), hello),
    path("", include("config.urls")),
]
