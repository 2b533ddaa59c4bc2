"""The intake API, /api/v1/ (docs/api.md "The API"), built with django-ninja.

This module assembles it: the token auth, the routes of `approvals.api.requests`, and the
exception handlers that make every error an RFC 9457 problem document. Ninja's own answers that
would not be (its validation errors, 404s, the bare 405 of a URL that exists but does not take
the method, an unknown URL under /api/v1/) are rewritten here too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema

from approvals.api import problems
from approvals.api.auth import ApiTokenAuth
from approvals.api.idempotency import KeyInFlight, KeyReused
from approvals.api.policies import router as policies_router
from approvals.api.problems import Problem, field_path, problem_response, validation_problem
from approvals.api.requests import router
from approvals.api.schemas import RequestIn
from approvals.exceptions import ApprovalError, DuplicateOpenRequest

DESCRIPTION = """\
Automations send Checkpoint the decisions they should not take alone. Authenticate with
`Authorization: Bearer <token>` (from `manage.py create_api_token`). Every error is an RFC 9457
`application/problem+json` document with `errors: [{field, message}]`.
"""


class CheckpointAPI(NinjaAPI):
    @property
    def urls(self) -> tuple[list[Any], str, str]:
        patterns, app_name, namespace = super().urls
        wrapped: list[Any] = []
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                view = pattern.callback
                if pattern.name == "openapi-json":
                    view = _read_only(view)
                pattern = URLPattern(
                    pattern.pattern, _speaks_problem(view), pattern.default_args, pattern.name
                )
            wrapped.append(pattern)
        # Anything else under /api/v1/ is a 404 in the API's shape, not the site's HTML page
        # (nor the CSRF middleware's 403 page for a POST).
        wrapped.append(re_path(r"^.*$", _speaks_problem(problems.not_found), name="not-found"))
        return wrapped, app_name, namespace

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        schema["components"]["schemas"]["RequestIn"] = RequestIn.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[problems.CONTENT_TYPE] = content.pop("application/json")
        return schema


def _read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return problems.method_not_allowed(["GET", "HEAD"])
        return view(request, *args, **kwargs)

    return wrapper


def _speaks_problem(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap one of Ninja's URL views: its 404s and 405s become problem documents."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return problems.not_found()
        if response.status_code == 405 and response.get("Content-Type") != problems.CONTENT_TYPE:
            return problems.method_not_allowed(response.get("Allow", "").split(", "))
        return response

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]  # token auth, no cookies
    return wrapper


api = CheckpointAPI(
    title="Checkpoint intake API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=ApiTokenAuth(),
    # Interactive docs (Swagger UI) from django-ninja's own static files ("ninja" is an
    # installed app), so nothing is loaded from a CDN and the CSP holds (docs/api.md).
    docs_url="/docs",
)
api.add_router("", router)
api.add_router("", policies_router)


@api.exception_handler(Problem)
def _on_problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(exc)


@api.exception_handler(AuthenticationError)
def _on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problems.unauthorized()


@api.exception_handler(NinjaValidationError)
def _on_ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        (field_path(error.get("loc", ())), str(error.get("msg", "is not valid")))
        for error in exc.errors
    ]
    return problem_response(validation_problem(errors))


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problems.problem(exc.status_code, str(exc))


@api.exception_handler(Http404)
def _on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problems.not_found()


@api.exception_handler(KeyReused)
def _on_key_reused(request: HttpRequest, exc: KeyReused) -> HttpResponse:
    return problems.problem(
        422,
        "This Idempotency-Key was already used with a different body; use a new key.",
        type=problems.KEY_REUSED,
        title="Idempotency key reused",
        errors=[("Idempotency-Key", "already used with a different body")],
    )


@api.exception_handler(KeyInFlight)
def _on_key_in_flight(request: HttpRequest, exc: KeyInFlight) -> HttpResponse:
    return problems.problem(
        409,
        "A request with this Idempotency-Key is still being processed; retry in a moment.",
        type=problems.KEY_IN_FLIGHT,
        title="Idempotency key in use",
    )


@api.exception_handler(ApprovalError)
def _on_service_error(request: HttpRequest, exc: ApprovalError) -> HttpResponse:
    extra = {}
    kind = problems.VALIDATION if exc.status_code == 422 else problems.CONFLICT
    if isinstance(exc, DuplicateOpenRequest):
        extra = {"existing_id": exc.existing_id}
        kind = problems.DUPLICATE
    return problems.problem(
        exc.status_code,
        exc.message,
        type=kind if exc.status_code in (409, 422) else "about:blank",
        errors=[(exc.field, exc.message)] if exc.field else [],
        extra=extra,
    )


@api.exception_handler(Exception)
def _on_bug(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problems.server_error(request, exc)
