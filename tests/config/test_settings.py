"""Settings are strict: bad values stop the process at boot with a message.

Each case boots Django in a subprocess with a clean environment, because settings are read
once per process and the test run itself has PYTEST_VERSION set (which relaxes them).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "checkpoint.example.com",
    "SITE_URL": "https://checkpoint.example.com",
    "AUDIT_SIGNING_KEY": "2026-12:" + secrets.token_urlsafe(48),
    "AUDIT_CHECKPOINT_URL": "file:///var/lib/checkpoint/audit-checkpoints",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DATABASE_URL"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "name",
    ["DEBUG", "CALLBACK_ALLOW_PRIVATE_NETWORKS", "SECURE_SSL_REDIRECT", "MFA_REQUIRED_FOR_ALL"],
)
def test_a_bad_boolean_fails_at_boot_naming_the_variable(name: str) -> None:
    result = run_manage("check", **{"DEBUG": "1", "CHECKPOINT_DEMO": "1", name: "maybe"})
    assert result.returncode != 0
    assert f"{name}='maybe' is not a boolean" in result.stderr


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "DEEP_LINK_HOURS"])
@pytest.mark.parametrize("value", ["0", "soon"])
def test_a_bad_idle_timeout_or_link_lifetime_fails_at_boot(name: str, value: str) -> None:
    result = run_manage("check", DEBUG="1", CHECKPOINT_DEMO="1", **{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_production_without_a_secret_key_refuses_to_start() -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_malformed_database_url_names_the_variable() -> None:
    result = run_manage("check", DEBUG="1", CHECKPOINT_DEMO="1", DATABASE_URL="nonsense")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


# --- No demo key outside `make demo`; encryption keys required in production ---------------
# (docs/security.md "Secrets at rest and inputs")


def test_debug_without_a_secret_key_refuses_to_start_unless_the_demo_flag_is_set() -> None:
    refused = run_manage("check", DEBUG="1")
    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr and "CHECKPOINT_DEMO=1" in refused.stderr
    assert run_manage("check", DEBUG="1", CHECKPOINT_DEMO="0").returncode != 0
    allowed = run_manage("check", DEBUG="1", CHECKPOINT_DEMO="1")
    assert allowed.returncode == 0, allowed.stderr
    own_key = run_manage("check", DEBUG="1", SECRET_KEY=secrets.token_urlsafe(64))
    assert own_key.returncode == 0, own_key.stderr


def test_the_demo_flag_does_not_relax_production() -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = run_manage("check", CHECKPOINT_DEMO="1", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_without_field_encryption_keys_refuses_to_start() -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != "FIELD_ENCRYPTION_KEYS"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr


@pytest.mark.parametrize("keys", ["not-a-key", f"{Fernet.generate_key().decode()},short"])
def test_a_malformed_field_encryption_key_names_the_variable(keys: str) -> None:
    result = run_manage("check", **{**PRODUCTION, "FIELD_ENCRYPTION_KEYS": keys})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key" in result.stderr and "is not a Fernet key" in result.stderr


@pytest.mark.parametrize(
    ("url", "folder"),
    [("filemail:///var/mail/checkpoint", "/var/mail/checkpoint"), ("filemail://mail", "mail")],
)
def test_a_filemail_folder_is_the_one_written(url: str, folder: str) -> None:
    # `make demo` writes filemail://<absolute path>/.demo-mail: the emails must land there.
    show = "from django.conf import settings; print(settings.EMAIL_FILE_PATH)"
    result = run_manage("shell", "-c", show, DEBUG="1", CHECKPOINT_DEMO="1", EMAIL_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == folder
