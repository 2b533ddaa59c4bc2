"""Secrets at rest: Fernet encryption keyed by FIELD_ENCRYPTION_KEYS (docs/security.md "Secrets
at rest and inputs").

Policy signing secrets, inbound source credentials (approvals/fields.py `EncryptedTextField`)
and allauth's TOTP secrets and recovery-code seeds (approvals/adapters.py `MFAAdapter`) are
stored as Fernet tokens (AES-128-CBC with HMAC-SHA256, from `cryptography`). The keys come from
the environment, never from the database, so a copy of the database or of a backup holds no
usable secret.

FIELD_ENCRYPTION_KEYS is a comma-separated list of Fernet keys: the first encrypts, every one
decrypts (MultiFernet), so a key is rotated by putting a new one first, running
`manage.py rotate_field_keys` (which re-encrypts every value with it) and then dropping the old
one. Production refuses to start without it (config/settings.py); the demo and the tests derive
a fixed key from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class UndecryptableSecret(ValueError):
    """A stored value no key in FIELD_ENCRYPTION_KEYS opens (a key was dropped too early)."""


def derived_key(secret_key: str) -> str:
    """The demo's and the tests' Fernet key: fixed for a given SECRET_KEY, never for production."""
    digest = hashlib.sha256(b"checkpoint field encryption\x00" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def check_keys(keys: list[str]) -> list[str]:
    """The keys, each a valid Fernet key, or ImproperlyConfigured naming the variable."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64 "
                'bytes); make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from None
    return keys


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: no key to encrypt with.")
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


def fernet() -> MultiFernet:
    """The MultiFernet of the current settings (cached per key list, so rotation in tests works)."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(text: str) -> str:
    return fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."
        ) from None


def rotate_text(token: str) -> str:
    """The same secret encrypted with the first key (MultiFernet.rotate)."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."
        ) from None
