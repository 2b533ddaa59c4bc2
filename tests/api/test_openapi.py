"""GET /api/v1/openapi.json, and a bounded schemathesis run against it: no input of any shape
gets a 5xx, and every response matches the document (status, content type, body)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from approvals.api import api as ninja_api
from approvals.models import Policy
from approvals.services import approval_submit
from playbooks.installer import install_all
from tests.api import assert_problem

OPERATIONS = {
    ("post", "/api/v1/requests"),
    ("get", "/api/v1/requests"),
    ("get", "/api/v1/requests/{id}"),
    ("post", "/api/v1/requests/{id}/cancel"),
    ("get", "/api/v1/policies"),
}


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_it_documents_every_operation_with_bearer_auth(document: dict[str, Any]) -> None:
    found = {(m, path) for path, ops in document["paths"].items() for m in ops}

    assert found == OPERATIONS
    assert document["components"]["securitySchemes"]["ApiTokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["security"] == [{"ApiTokenAuth": []}], (method, path)
            assert "401" in op["responses"]


def test_errors_are_documented_as_problem_json(document: dict[str, Any]) -> None:
    for ops in document["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                media = set(response.get("content", {}))
                if int(status) == 304:  # Not Modified has no body
                    assert media == set()
                    continue
                assert media == (
                    {"application/problem+json"} if int(status) >= 400 else {"application/json"}
                )


def test_the_create_body_is_strict_and_documented(document: dict[str, Any]) -> None:
    create = document["paths"]["/api/v1/requests"]["post"]
    body = document["components"]["schemas"]["RequestIn"]

    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RequestIn"
    )
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"policy", "title", "payload"}
    assert body["properties"]["title"]["maxLength"] == 300
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert "previous_id" in create["description"]


def test_unknown_urls_and_methods_under_the_api_are_problems(api: Any) -> None:
    assert_problem(api.get("/api/v1/"), 404)
    assert_problem(api.get("/api/v1/nothing/here"), 404)
    assert_problem(api.get("/api/v1/requests/a/b/c"), 404)
    problem = assert_problem(api.delete("/api/v1/requests"), 405)
    assert "GET" in problem["detail"]
    assert api.put("/api/v1/requests/x/cancel")["Allow"] == "POST"


def test_a_post_to_an_unknown_url_is_a_404_problem_not_a_csrf_page(policy: Any) -> None:
    client = Client(enforce_csrf_checks=True)

    assert_problem(client.post("/api/v1/nothing", data="{}", content_type="application/json"), 404)


def test_the_document_is_public_and_read_only(client: Client) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert assert_problem(client.post("/api/v1/openapi.json"), 405)
    assert client.post("/api/v1/openapi.json")["Allow"] == "GET, HEAD"


# --- schemathesis ------------------------------------------------------------------------------

# Loaded from the API object itself: no request is needed at import time, and the run below
# checks the document the server actually serves against the same object.
schema = schemathesis.openapi.from_dict(ninja_api.get_openapi_schema(path_prefix="/api/v1/"))
# Bounded for CI (a few seconds); API_FUZZ_EXAMPLES=500 explores further, randomly, by hand.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "30"))
schema.config.generation.update(modes=list(GenerationMode), max_examples=EXAMPLES)

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """The real WSGI app, minus the per-request connection cleanup (as Django's test client
    does): closing the connection mid-test would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def existing(db: Any, settings: Any) -> list[str]:
    """Installed playbooks (so the document's example bodies route for real) and the ids of a
    few requests, pending and decided. Private callback URLs are allowed so that generated
    hosts are not looked up in DNS."""
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    install_all()
    policy = Policy.objects.get(slug="refund-approval")
    return [
        str(approval_submit(policy=policy, title="t", payload=payload, external_id=str(n)).pk)
        for n, payload in enumerate([{"amount": 500}, {"amount": 5}, {"amount": 900}])
    ]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="API_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_breaks_its_schema_or_returns_5xx(
    case: Any, existing: list[str], raw_token: str, wsgi_app: WSGIHandler
) -> None:
    generated = str((case.path_parameters or {}).get("id", ""))
    if generated and len(generated) % 2 == 0:
        # Random ids never exist; half the time ask about a real request instead, so the 200s
        # (and the 409 of cancelling twice) are checked against the schema too.
        case.path_parameters = {"id": existing[len(generated) % len(existing)]}
    case.call_and_validate(
        app=wsgi_app, headers={"Authorization": f"Bearer {raw_token}"}, checks=CHECKS
    )
