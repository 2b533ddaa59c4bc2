"""Liveness of the parts a decision depends on: the database and the Celery broker."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.celery import app as celery_app


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


def check_broker() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


def health_report() -> tuple[dict[str, str], bool]:
    report = {"database": check_database(), "broker": check_broker()}
    return report, all(value == "ok" for value in report.values())


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report, ok = health_report()
    return JsonResponse(report, status=200 if ok else 503)
