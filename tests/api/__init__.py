"""Tests of the intake API, /api/v1/ (docs/api.md "The API"): one file per endpoint."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and an error on `field`)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert set(problem) >= {"type", "title", "status", "detail", "errors"}
    assert problem["status"] == status
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]], problem
    return problem
