"""`manage.py check --deploy --fail-level WARNING` with production settings (PRODUCTION of
test_settings.py), in a subprocess: settings are read once per process (docs/security.md
"Deploy checks")."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from tests.config.test_settings import PRODUCTION, run_manage
from tests.conftest import requires_postgres


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    # SQLite: the database-role check (PostgreSQL only) has its own test below.
    return {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}


def _deploy_check(**env: str) -> tuple[int, str]:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **env)
    return result.returncode, result.stdout + result.stderr


def test_it_passes_with_production_settings(production: dict[str, str]) -> None:
    code, output = _deploy_check(**production)
    assert code == 0, output
    assert "System check identified no issues" in output


def test_it_fails_when_site_url_is_plain_http(production: dict[str, str]) -> None:
    code, output = _deploy_check(**{**production, "SITE_URL": "http://checkpoint.example.com"})
    assert code != 0
    assert "(checkpoint.W001) SITE_URL='http://checkpoint.example.com' is not https://" in output


def test_it_fails_without_a_signing_key(production: dict[str, str]) -> None:
    env = {k: v for k, v in production.items() if k != "AUDIT_SIGNING_KEY"}
    code, output = _deploy_check(**env)
    assert code != 0
    assert "(checkpoint.W002) AUDIT_SIGNING_KEY is not set" in output
    assert "W001" not in output


def test_it_fails_without_a_checkpoint_store(production: dict[str, str]) -> None:
    env = {k: v for k, v in production.items() if k != "AUDIT_CHECKPOINT_URL"}
    code, output = _deploy_check(**env)
    assert code != 0
    assert "(checkpoint.W003) AUDIT_CHECKPOINT_URL is not set" in output


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUDIT_SIGNING_KEY", "no-key-id-separator-" + "x" * 40, "must be '<key id>:<secret>'"),
        ("AUDIT_SIGNING_KEY", "2026-12:short", "is shorter than 32 characters"),
        ("AUDIT_SIGNING_KEY", "bad id:" + "x" * 40, "must be '<key id>:<secret>'"),
        ("AUDIT_VERIFY_KEYS", "old:short", "AUDIT_VERIFY_KEYS: the secret of key 'old'"),
        ("AUDIT_VERIFY_KEYS", f"a:{'x' * 40},a:{'y' * 40}", "two different secrets under"),
        ("AUDIT_CHECKPOINT_URL", "s3://bucket/prefix", "is not supported: use file:///"),
        ("AUDIT_CHECKPOINT_URL", "relative/dir", "is not supported: use file:///"),
    ],
)
def test_a_malformed_audit_variable_stops_the_process(
    production: dict[str, str], name: str, value: str, message: str
) -> None:
    result = run_manage("check", **{**production, name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_two_secrets_under_one_key_id_stop_the_process(production: dict[str, str]) -> None:
    env = {**production, "AUDIT_VERIFY_KEYS": "2026-12:" + "y" * 40}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "two different secrets under the key id '2026-12'" in result.stderr


@requires_postgres
@pytest.mark.django_db
def test_it_fails_when_the_app_connects_as_the_table_owner() -> None:
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    code, output = _deploy_check(**{**PRODUCTION, "DATABASE_URL": url})
    assert code != 0
    assert "(checkpoint.W004) The application connects to PostgreSQL as a superuser" in output


def test_it_warns_when_it_cannot_reach_postgresql_to_check_the_role() -> None:
    # Port 9 on 127.0.0.1: nothing listens, the connection is refused at once.
    env = {**PRODUCTION, "DATABASE_URL": "postgres://checkpoint_app@127.0.0.1:9/checkpoint"}
    code, output = _deploy_check(**env)
    assert code != 0
    assert "(checkpoint.W005) Could not check the database role:" in output
