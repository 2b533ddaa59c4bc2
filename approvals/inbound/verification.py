"""Checking an inbound request's signature on its raw body, before anything parses it.

The four kinds of docs/api.md "Inbound sources"; every comparison is constant-time
(hmac.compare_digest, or the Standard Webhooks library, which uses it). A failure raises a 401
Problem whose detail says what was wrong but never what was expected.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from standardwebhooks import Webhook, WebhookVerificationError

from approvals.api.problems import Problem
from approvals.inbound.secrets import source_secret
from approvals.models import InboundSource

Kind = InboundSource.Verification
HUBSPOT_WINDOW_MS = 5 * 60 * 1000
UNAUTHORIZED = "urn:checkpoint:problem:bad-signature"


def refused(detail: str) -> Problem:
    return Problem(401, detail, type=UNAUTHORIZED, title="Unauthorized")


def verify_inbound(*, source: InboundSource, request: HttpRequest, raw: bytes) -> str:
    """Raise a 401 Problem unless `raw` is signed by the source; returns the delivery's
    event id when the scheme carries one (Standard Webhooks' webhook-id), else ""."""
    secret = source_secret(source)
    if not secret:
        raise refused("This source has no secret yet; a manager must set one.")
    if source.verification == Kind.HUBSPOT:
        _verify_hubspot(request, raw, secret.encode())
    elif source.verification == Kind.STANDARD_WEBHOOKS:
        return _verify_standard_webhooks(request, raw, secret)
    elif source.verification == Kind.HMAC_SHA256:
        _verify_hmac(request, raw, secret.encode())
    elif source.verification == Kind.SHARED_SECRET:
        sent = request.headers.get("X-Checkpoint-Secret", "")
        if not sent:
            raise refused("The X-Checkpoint-Secret header is missing.")
        if not hmac.compare_digest(sent.encode(), secret.encode()):
            raise refused("The X-Checkpoint-Secret header is wrong.")
    else:  # a kind added to the model but not here: refuse rather than let it through
        raise refused("This source's verification is not supported.")
    return ""


def _verify_hmac(request: HttpRequest, raw: bytes, secret: bytes) -> None:
    sent = request.headers.get("X-Signature", "")
    scheme, _, digest = sent.partition("=")
    if not sent:
        raise refused("The X-Signature header is missing.")
    if scheme.strip().lower() != "sha256":
        raise refused("X-Signature must be 'sha256=<hex HMAC-SHA256 of the body>'.")
    expected = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest.strip().lower().encode(), expected.encode()):
        raise refused("The X-Signature does not match the body.")


def _verify_standard_webhooks(request: HttpRequest, raw: bytes, secret: str) -> str:
    headers = {
        name: request.headers.get(name, "")
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    if not all(headers.values()):
        raise refused(
            "The webhook-id, webhook-timestamp and webhook-signature headers are required."
        )
    try:
        # The library checks the timestamp (5 minutes either way) and compares in constant time.
        Webhook(secret).verify(raw, headers)
    except WebhookVerificationError as exc:
        raise refused(f"The Standard Webhooks signature does not verify: {exc}.") from None
    except Exception:  # a secret the library cannot decode; validated on save, so rare
        raise refused("This source's secret is not a valid whsec_ secret.") from None
    return headers["webhook-id"]


def request_uris(request: HttpRequest) -> list[str]:
    """The full URI the sender signed: as this request arrived and as SITE_URL names it
    (behind a proxy the two differ, and the sender signed the public one)."""
    uris = [settings.SITE_URL + request.get_full_path()]
    with contextlib.suppress(DisallowedHost):
        uris.append(request.build_absolute_uri())
    return list(dict.fromkeys(uris))


def _verify_hubspot(request: HttpRequest, raw: bytes, secret: bytes) -> None:
    method = (request.method or "POST").encode()
    v3 = request.headers.get("X-HubSpot-Signature-v3", "")
    if v3:
        stamp = request.headers.get("X-HubSpot-Request-Timestamp", "")
        if not stamp.isdigit():
            raise refused("X-HubSpot-Request-Timestamp (milliseconds) is missing.")
        if abs(time.time() * 1000 - int(stamp)) > HUBSPOT_WINDOW_MS:
            raise refused("X-HubSpot-Request-Timestamp is more than 5 minutes away from now.")
        for uri in request_uris(request):
            message = method + uri.encode() + raw + stamp.encode()
            signature = base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest())
            if hmac.compare_digest(v3.strip().encode(), signature):
                return
        raise refused("X-HubSpot-Signature-v3 does not match the request.")
    v2 = request.headers.get("X-HubSpot-Signature", "")
    if not v2:
        raise refused("The X-HubSpot-Signature-v3 (or v2) header is missing.")
    if request.headers.get("X-HubSpot-Signature-Version", "").lower() != "v2":
        raise refused("Only HubSpot signature versions v2 and v3 are accepted.")
    for uri in request_uris(request):
        expected = hashlib.sha256(secret + method + uri.encode() + raw).hexdigest()
        if hmac.compare_digest(v2.strip().lower().encode(), expected.encode()):
            return
    raise refused("X-HubSpot-Signature does not match the request.")
