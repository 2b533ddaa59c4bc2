"""`manage.py rotate_field_keys`: re-encrypt every secret at rest with the first key of
FIELD_ENCRYPTION_KEYS (docs/security.md "Secrets at rest and inputs", "Rotating the key")."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.core.management.base import CommandError
from django.db import transaction

from approvals.crypto import UndecryptableSecret, rotate_text
from approvals.management.base import OneLineErrorsCommand
from approvals.models import InboundSource, Policy


def rotate_all() -> int:
    """Re-encrypt every stored secret with the first key, in one transaction; returns the rows.

    `update()` writes no history row and leaves `updated_at` alone: the secrets are the same,
    only their ciphertext changes.
    """
    rows = 0
    with transaction.atomic():
        for policy in Policy.objects.select_for_update().only(
            "pk", "signing_secret", "previous_signing_secret"
        ):
            # Read decrypted (any key), written encrypted with the first key.
            Policy.objects.filter(pk=policy.pk).update(
                signing_secret=policy.signing_secret,
                previous_signing_secret=policy.previous_signing_secret,
            )
            rows += 1
        for source in InboundSource.objects.select_for_update().only("pk", "secret", "api_token"):
            InboundSource.objects.filter(pk=source.pk).update(
                secret=source.secret, api_token=source.api_token
            )
            rows += 1
        for authenticator in Authenticator.objects.select_for_update():
            data = dict(authenticator.data)
            for key in ("secret", "seed"):
                if isinstance(data.get(key), str):
                    data[key] = rotate_text(data[key])
            if isinstance(data.get("migrated_codes"), list):
                data["migrated_codes"] = [rotate_text(code) for code in data["migrated_codes"]]
            if data != authenticator.data:
                Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
                rows += 1
    return rows


class Command(OneLineErrorsCommand):
    help = (
        "Re-encrypt every secret at rest (policy signing secrets, inbound source credentials, "
        "TOTP secrets and recovery-code seeds) with the first key of FIELD_ENCRYPTION_KEYS. Run "
        "it after putting a new key first; drop the old key only after it succeeds."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rows = rotate_all()
        except UndecryptableSecret as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        self.stdout.write(f"Re-encrypted the secrets of {rows} rows with the first key.")
