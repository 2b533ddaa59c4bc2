"""The one place that reads and writes an inbound source's credentials.

The verification secret and HubSpot private-app token live in fields that simple-history does
not copy; everything else (verification, admin, command, delivery) goes through these three
functions, so encrypting them at rest is a change to this file alone.
"""

from __future__ import annotations

from approvals.models import InboundSource


def source_secret(source: InboundSource) -> str:
    return source.secret


def source_api_token(source: InboundSource) -> str:
    return source.api_token


def source_set_credentials(
    source: InboundSource, *, secret: str | None = None, api_token: str | None = None
) -> None:
    """Set either credential on the (unsaved) row; None leaves it as it is."""
    if secret is not None:
        source.secret = secret
    if api_token is not None:
        source.api_token = api_token
