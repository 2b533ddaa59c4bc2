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

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "checkpoint.example.com",
    "SITE_URL": "https://checkpoint.example.com",
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
    result = run_manage("check", **{"DEBUG": "1", name: "maybe"})
    assert result.returncode != 0
    assert f"{name}='maybe' is not a boolean" in result.stderr


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "DEEP_LINK_HOURS"])
@pytest.mark.parametrize("value", ["0", "soon"])
def test_a_bad_idle_timeout_or_link_lifetime_fails_at_boot(name: str, value: str) -> None:
    result = run_manage("check", DEBUG="1", **{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_production_without_a_secret_key_refuses_to_start() -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_the_deploy_check_passes_with_production_variables() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_malformed_database_url_names_the_variable() -> None:
    result = run_manage("check", DEBUG="1", DATABASE_URL="nonsense")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
