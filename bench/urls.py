"""The production URLconf plus the two floors every HTTP figure is divided by.

- `/bench/hello`: a Django JSON view, no database — what the server and middleware cost.
- `/bench/signed-in`: the same view behind `login_required`, for a signed-in reviewer — what
  any page of the inbox pays before its own work: the session and the user read from the
  database, the signed-in middleware's checks. Not a floor the targets use; it says how much
  of the inbox's and decide's cost is the sign-in itself.
- `/bench/durable`: the minimal durable Django write — parse the JSON body, then one
  transaction of three INSERTs (a request, an audit row, an outbox row) into tables of its own
  (`DURABLE_TABLES`, created by the harness), committed before answering 201.
"""

from __future__ import annotations

import json
import uuid

from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

HELLO_PATH = "/bench/hello"
SIGNED_IN_PATH = "/bench/signed-in"
DURABLE_PATH = "/bench/durable"

# Shaped like the real rows, small: what one durable intake has to write, at the least.
DURABLE_TABLES = [
    "CREATE TABLE IF NOT EXISTS bench_request (id uuid PRIMARY KEY, external_id text NOT NULL,"
    " title text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS bench_audit (id bigserial PRIMARY KEY, request_id uuid NOT NULL,"
    " action text NOT NULL, at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS bench_outbox (id uuid PRIMARY KEY, request_id uuid NOT NULL,"
    " event text NOT NULL, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
]


def create_durable_tables() -> None:
    with connection.cursor() as cursor:
        for statement in DURABLE_TABLES:
            cursor.execute(statement)


def hello(request: HttpRequest) -> JsonResponse:
    # The least a Django JSON view can do: no database, same middleware and server as the app.
    return JsonResponse({"hello": "world"})


@login_required
def signed_in(request: HttpRequest) -> JsonResponse:
    # hello-world for a signed-in reviewer: the session and user are loaded, nothing else.
    return JsonResponse({"hello": request.user.get_username()})


@csrf_exempt
def durable(request: HttpRequest) -> HttpResponse:
    """Parse the body, write three rows in one transaction, answer with the new id."""
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        body = json.loads(request.body)
        external_id, title = str(body["external_id"]), str(body["title"])
        payload = json.dumps(body.get("payload", {}))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "bad body"}, status=400)
    request_id = uuid.uuid4()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_request (id, external_id, title, payload) VALUES (%s, %s, %s, %s)",
            [request_id, external_id, title, payload],
        )
        cursor.execute(
            "INSERT INTO bench_audit (request_id, action) VALUES (%s, 'created')", [request_id]
        )
        cursor.execute(
            "INSERT INTO bench_outbox (id, request_id, event, body) VALUES (%s, %s, %s, %s)",
            [uuid.uuid4(), request_id, "approval.created", payload],
        )
    return JsonResponse({"id": str(request_id)}, status=201)


urlpatterns = [
    path(HELLO_PATH.lstrip("/"), hello),
    path(SIGNED_IN_PATH.lstrip("/"), signed_in),
    path(DURABLE_PATH.lstrip("/"), durable),
    path("", include("config.urls")),
]
