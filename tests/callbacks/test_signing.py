"""Per-policy signing secrets in the Standard Webhooks format."""

from __future__ import annotations

import base64
import binascii

from approvals.models import new_signing_secret


def test_a_new_secret_is_whsec_and_strict_standard_base64() -> None:
    for _ in range(200):  # URL-safe characters would show up in a few of these
        secret = new_signing_secret()
        assert secret.startswith("whsec_")
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{secret} is not standard base64") from exc
        assert len(key) == 32
