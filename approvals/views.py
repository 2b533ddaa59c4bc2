from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from approvals.health import health_report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report, ok = health_report()
    return JsonResponse(report, status=200 if ok else 503)
