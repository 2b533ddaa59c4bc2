"""Model fields of our own (docs/security.md "Secrets at rest and inputs")."""

from __future__ import annotations

from typing import Any

from django.db import models

from approvals.crypto import decrypt_text, encrypt_text


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token (approvals/crypto.py), plain text in Python.

    The column holds ciphertext; the model attribute, `values()` and forms see the plain value.
    "" stays "" (nothing to hide). Encryption is randomised, so the field cannot be filtered
    on; nothing looks a secret up by its value.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value)
