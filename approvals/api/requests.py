"""The four operations of docs/api.md "The API" on /api/v1/requests.

Each view: read and check its input, one selector or service, one serializer. Errors are raised
as `Problem`s or service exceptions and rendered as problem+json by the handlers in
`approvals.api`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from approvals.api.auth import caller_token
from approvals.api.body import read_json_object
from approvals.api.idempotency import (
    MAX_KEY_LENGTH,
    StoredResponse,
    body_fingerprint,
    idempotency_replay,
    idempotency_run,
)
from approvals.api.intake import intake_validate, resubmission_of
from approvals.api.problems import MALFORMED, Problem
from approvals.api.schemas import (
    ProblemOut,
    RequestDetailOut,
    RequestFilters,
    RequestOut,
    RequestPage,
)
from approvals.api.selectors import (
    approval_decisions,
    approval_etag,
    approval_etag_for_caller,
    approval_final_decision,
    approval_get_for_caller,
    approvals_page,
)
from approvals.api.serializers import request_data, request_detail_data
from approvals.models import ApiToken
from approvals.services import approval_cancel, approval_submit

router = Router(tags=["requests"])

ERRORS = {code: ProblemOut for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)}
READ_ERRORS = {code: ProblemOut for code in (401, 403, 429)}

CREATE_DESCRIPTION = """\
Create a request; the policy routes it at once. A rule that decides it returns `route: auto`
with the decision filled in; otherwise it waits for a human (`route: human`).

**Idempotency.** Send an `Idempotency-Key` (at most 255 characters) to make retries safe: the
same key with the same body within 24 hours returns the first response again, status and body,
with the header `Idempotent-Replayed: true`, and creates nothing. The same key with a different
body is a 422. Only a created request is remembered: after a 4xx you may retry with the key.

**One open request per external_id.** A second open request with the same `policy` and
`external_id` is a 409 whose `existing_id` names the open one. When the latest request for that
pair ended in `changes_requested`, the new one is its resubmission: its `previous_id` points at
the old request.

**Strict input.** At most 256 KiB of UTF-8 JSON; no NaN or Infinity, no duplicate keys, no NUL
characters; `payload` nests at most 32 levels; unknown fields are a 422, not ignored.
"""

IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": "Makes retries safe for 24 hours (see above).",
}


def json_response(status: int, data: Any) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


def _stored_as_http(stored: StoredResponse, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status, content_type="application/json")
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            type=MALFORMED,
            errors=[("Idempotency-Key", f"1 to {MAX_KEY_LENGTH} printable characters")],
        )
    return key


def _actor(request: HttpRequest) -> str:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    return f"api:{token.name}"


@router.post(
    "/requests",
    operation_id="createRequest",
    response={201: RequestOut, **ERRORS},
    summary="Ask for a decision",
    description=CREATE_DESCRIPTION,
    openapi_extra={
        "parameters": [IDEMPOTENCY_HEADER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RequestIn"}}},
        },
        # OpenAPI links: how a generated client (or a stateful tester) follows up on a 201.
        "responses": {
            201: {
                "links": {
                    name: {"operationId": operation, "parameters": {"id": "$response.body#/id"}}
                    for name, operation in (
                        ("GetRequest", "getRequest"),
                        ("CancelRequest", "cancelRequest"),
                    )
                }
            }
        },
    },
)
def create_request(request: HttpRequest) -> HttpResponse:
    token = caller_token(request, ApiToken.SCOPE_CREATE)
    key = _idempotency_key(request)
    document = read_json_object(request)
    fingerprint = body_fingerprint(document) if key else ""
    if key and (replay := idempotency_replay(token=token, key=key, fingerprint=fingerprint)):
        return _stored_as_http(replay, replayed=True)
    intake = intake_validate(document, token=token)

    def submit() -> StoredResponse:
        approval = approval_submit(
            **intake.submit_kwargs(), previous=resubmission_of(intake), actor=_actor(request)
        )
        data = request_data(approval, final=approval_final_decision(approval))
        return StoredResponse(status=201, body=json.dumps(data, ensure_ascii=False).encode())

    if not key:
        return _stored_as_http(submit(), replayed=False)
    stored, replayed = idempotency_run(
        token=token, key=key, fingerprint=fingerprint, produce=submit
    )
    return _stored_as_http(stored, replayed=replayed)


@router.get(
    "/requests",
    operation_id="listRequests",
    response={200: RequestPage, 422: ProblemOut, **READ_ERRORS},
    summary="List requests, newest first",
    description="Keyset-paginated: pass `next` back as `cursor`. `limit` is 1 to 200 (50).",
)
def list_requests(request: HttpRequest, filters: Query[RequestFilters]) -> HttpResponse:
    token = caller_token(request, ApiToken.SCOPE_READ)
    page, next_cursor = approvals_page(filters=filters, caller=token.caller)
    results = [
        request_data(approval, final=(approval.final_decisions or [None])[-1])  # type: ignore[attr-defined]
        for approval in page
    ]
    return json_response(200, {"results": results, "next": next_cursor})


@router.get(
    "/requests/{id}",
    operation_id="getRequest",
    response={200: RequestDetailOut, 304: None, 404: ProblemOut, **READ_ERRORS},
    summary="One request, with every decision so far",
    description="Answers with an `ETag`; send it back as `If-None-Match` and an unchanged "
    "request is a 304 with no body (one indexed query): cheap polling.",
)
def get_request(request: HttpRequest, id: str) -> HttpResponse:
    token = caller_token(request, ApiToken.SCOPE_READ)
    # A poller sends back the ETag it has: unchanged costs one indexed query and no body.
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        etag = approval_etag_for_caller(pk=id, caller=token.caller)
        if etag in {tag.strip() for tag in if_none_match.split(",")} or if_none_match == "*":
            response = HttpResponse(status=304)
            response["ETag"] = etag
            return response
    approval = approval_get_for_caller(pk=id, caller=token.caller)
    response = json_response(
        200, request_detail_data(approval, decisions=approval_decisions(approval))
    )
    response["ETag"] = approval_etag(pk=approval.pk, updated_at=approval.updated_at)
    return response


@router.post(
    "/requests/{id}/cancel",
    operation_id="cancelRequest",
    response={200: RequestOut, 404: ProblemOut, 409: ProblemOut, **READ_ERRORS},
    summary="Withdraw a pending request",
    description="200 with the cancelled request; a request that is already final is a 409.",
)
def cancel_request(request: HttpRequest, id: str) -> HttpResponse:
    token = caller_token(request, ApiToken.SCOPE_CANCEL)
    approval = approval_get_for_caller(pk=id, caller=token.caller)
    approval = approval_cancel(approval=approval, actor=_actor(request))
    return json_response(200, request_data(approval, final=None))
