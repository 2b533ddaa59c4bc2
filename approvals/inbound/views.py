"""POST /api/v1/inbound/<slug>: a CRM's own signed webhook starts a request (docs/api.md
"Inbound sources"). No Bearer token: the signature is the credential, checked on the raw body
before anything parses it. Answers and errors are the intake API's own (problem+json, the same
413/415/400 body limits, the same 422s)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from approvals.api import _on_service_error, problems
from approvals.api.body import read_bounded, read_json_object
from approvals.api.problems import Problem, problem_response
from approvals.exceptions import ApprovalError
from approvals.inbound.receive import inbound_receive
from approvals.inbound.verification import verify_inbound
from approvals.models import InboundSource


@csrf_exempt  # no cookies here: a signature authenticates each request
def inbound(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method != "POST":
        return problems.method_not_allowed(["POST"])
    try:
        source = (
            InboundSource.objects.select_related("policy").filter(slug=slug, is_active=True).first()
        )
        if source is None:
            return problems.not_found()
        raw = read_bounded(request)
        delivery_id = verify_inbound(source=source, request=request, raw=raw)
        answer = inbound_receive(
            source=source, body=read_json_object(request), delivery_id=delivery_id
        )
    except Problem as exc:
        return problem_response(exc)
    except ApprovalError as exc:
        return _on_service_error(request, exc)
    except Exception as exc:  # a bug: logged, answered in the API's shape, never an HTML 500
        return problems.server_error(request, exc)
    response = HttpResponse(answer.body, status=answer.status, content_type="application/json")
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response
