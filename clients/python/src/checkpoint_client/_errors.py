"""Errors: every API error is an RFC 9457 problem document, raised as ProblemError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ProblemError(Exception):
    """The API said no: `status`, `type`, `title`, `detail`, `errors` (field paths and
    messages), `existing_id` on a duplicate, `retry_after` (seconds) on a 429 or 503."""

    def __init__(
        self,
        *,
        status: int,
        title: str = "",
        detail: str = "",
        type: str = "about:blank",
        errors: list[FieldError] | None = None,
        existing_id: str | None = None,
        retry_after: float | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors or []
        self.existing_id = existing_id
        self.retry_after = retry_after
        self.raw = raw or {}
        shown = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(f"{status} {title}: {detail}" + (f" ({shown})" if shown else ""))

    @property
    def fields(self) -> list[str]:
        """The field paths the server named, e.g. ["payload.amount"]."""
        return [error.field for error in self.errors]

    @classmethod
    def from_response(cls, response: httpx.Response) -> ProblemError:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        errors = [
            FieldError(field=str(e.get("field", "")), message=str(e.get("message", "")))
            for e in data.get("errors") or []
            if isinstance(e, dict)
        ]
        return cls(
            status=response.status_code,
            title=str(data.get("title") or response.reason_phrase),
            detail=str(data.get("detail") or response.text[:500]),
            type=str(data.get("type") or "about:blank"),
            errors=errors,
            existing_id=data.get("existing_id"),
            retry_after=retry_after(response),
            raw=data,
        )


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is read as "soon": 1 s)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 1.0
