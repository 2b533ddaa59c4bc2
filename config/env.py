"""Strict readers for environment variables.

A typo in production configuration must stop the process at boot with a message that says what
to set, never silently fall back to a default.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: set it to one of 1/0, true/false, yes/no, on/off."
    )


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


KEY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
MIN_SECRET_CHARS = 32


def _signing_key(name: str, raw: str) -> tuple[str, bytes]:
    key_id, sep, secret = raw.strip().partition(":")
    if not sep or not key_id or not set(key_id) <= KEY_ID_CHARS or len(key_id) > 64:
        raise ImproperlyConfigured(
            f"{name} must be '<key id>:<secret>' with a key id of letters, digits, '.', '_' "
            "or '-' (e.g. 2026-12:…); see docs/security.md \"Key rotation\"."
        )
    if len(secret) < MIN_SECRET_CHARS:
        raise ImproperlyConfigured(
            f"{name}: the secret of key {key_id!r} is shorter than {MIN_SECRET_CHARS} characters; "
            'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    return key_id, secret.encode("utf-8")


def envsigningkeys(current: str, retired: str) -> tuple[str, dict[str, bytes]]:
    """The current signing key's id ("" when unset) and every key verification accepts, by id.

    `current` holds one "<key id>:<secret>"; `retired` a comma-separated list of older ones.
    """
    keys: dict[str, bytes] = {}
    for raw in envlist(retired, []):
        key_id, secret = _signing_key(retired, raw)
        if keys.setdefault(key_id, secret) != secret:
            raise ImproperlyConfigured(
                f"{retired} holds two different secrets under the key id {key_id!r}."
            )
    raw_current = os.environ.get(current, "").strip()
    if not raw_current:
        return "", keys
    key_id, secret = _signing_key(current, raw_current)
    if keys.get(key_id, secret) != secret:
        raise ImproperlyConfigured(
            f"{current} and {retired} hold two different secrets under the key id {key_id!r}; "
            "give a new key a new id."
        )
    keys[key_id] = secret
    return key_id, keys


def envfileurl(name: str) -> str:
    """A file:///absolute/dir URL, or "" when unset; other schemes stop the process at boot."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    if not raw.startswith("file:///"):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not supported: use file:///an/absolute/directory "
            '(docs/security.md "The audit trail" says how another store would be added).'
        )
    return raw
