"""Errors the services raise. Views, the API, email links and tasks turn them into clear 4xx
answers; none of them is ever a 500."""

from __future__ import annotations

from typing import Any


class ApprovalError(Exception):
    """Base class: `message` is safe to show to the person who caused it."""

    status_code = 400

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class IllegalTransition(ApprovalError):
    status_code = 409


class AlreadyDecided(ApprovalError):
    """Someone got there first: 'already decided by alice at 10:02'."""

    status_code = 409

    def __init__(self, message: str, *, decided_by: str = "", decided_at: Any = None) -> None:
        super().__init__(message)
        self.decided_by = decided_by
        self.decided_at = decided_at


class AlreadyVoted(ApprovalError):
    status_code = 409


class NotAllowed(ApprovalError):
    status_code = 403


class InvalidDecision(ApprovalError):
    status_code = 422


class DuplicateOpenRequest(ApprovalError):
    status_code = 409

    def __init__(self, message: str, *, existing_id: str) -> None:
        super().__init__(message, field="external_id")
        self.existing_id = existing_id
