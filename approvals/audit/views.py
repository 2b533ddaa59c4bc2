"""`/exports/audit.csv` (docs/api.md "The audit CSV"): the audit CSV for users with `approvals.export_audit`.

Anonymous users go to the login page; a signed-in user without the permission gets a 403 (the
URL is public in the contract, so there is nothing to hide, unlike a request's page). Bad
parameters are a 400 that names the parameter, before any row is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from approvals.audit.csv_export import ExportParamError, csv_chunks, parse_export_params
from approvals.audit.sealing import seal_pending

EXPORT_PERMISSION = "approvals.export_audit"


def export_permission_required(view: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied("You need the permission to export the audit trail.")
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@export_permission_required
def audit_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    try:
        export = parse_export_params(
            since=request.GET.get("since"),
            until=request.GET.get("until"),
            policy=request.GET.get("policy"),
        )
    except ExportParamError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    seal_pending()  # every decision's entry_hash is filled before its row is read
    filename = f"checkpoint-audit-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(csv_chunks(export), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
