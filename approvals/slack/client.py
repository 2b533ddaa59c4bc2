"""The Slack Web API client and the rules for its failures.

Slack is on only when both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set; otherwise nothing
here is ever called. The client is the official `slack_sdk.WebClient` pointed at SLACK_API_URL,
without its own retry handlers: retries are ours (a row's `next_attempt_at`), so a call is never
repeated inside one attempt and nothing is posted twice.
"""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

# Errors worth trying again later; anything else (channel_not_found, not_in_channel,
# invalid_auth, …) needs a person to fix the configuration and is recorded as failed.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def slack_configured() -> bool:
    return bool(settings.SLACK_BOT_TOKEN and settings.SLACK_SIGNING_SECRET)


def slack_client(*, timeout: int = 10) -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        timeout=timeout,
        retry_handlers=[],
    )


@dataclass(frozen=True)
class SlackFailure:
    error: str
    retryable: bool
    retry_after: float = 0.0


def classify(exc: Exception) -> SlackFailure:
    """What a failed call means: its error text, whether to retry, and Slack's Retry-After."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        retry_after = 0.0
        if status == 429:
            headers = {k.lower(): v for k, v in (response.headers or {}).items()}
            try:
                retry_after = float(headers.get("retry-after", "") or 1)
            except ValueError:
                retry_after = 1.0
        retryable = status == 429 or status >= 500 or error in RETRYABLE_ERRORS
        return SlackFailure(f"{error} (HTTP {status})"[:2000], retryable, retry_after)
    if isinstance(exc, urllib.error.URLError | TimeoutError | ConnectionError | OSError):
        return SlackFailure(f"{type(exc).__name__}: {exc}"[:2000], True)
    return SlackFailure(f"{type(exc).__name__}: {exc}"[:2000], False)
