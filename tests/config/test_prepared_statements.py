"""On PostgreSQL a connection prepares the statements it repeats (docs/performance.md
"Prepared statements"): parameters are bound server-side, so a statement's text is the same on
every call, and PostgreSQL parses it once. DATABASE_PREPARED=0 goes back to parameters merged
into the text (nothing prepared), for PgBouncer in transaction mode before 1.21."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from approvals.models import ApprovalRequest
from tests.config.test_settings import PRODUCTION, run_manage
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db]


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_intakes_statements_are_prepared_after_a_few_uses(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    for _ in range(8):
        submit()
    prepared = _prepared()
    assert any(s.startswith("INSERT INTO approvals_queuednotice") for s in prepared), prepared
    assert any("approvals_historicalapprovalrequest" in s for s in prepared), prepared
    assert all("$1" in s or "%s" not in s for s in prepared)  # bound server-side


SHOW = (
    "from django.conf import settings; import json;"
    " print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
)


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("1", True), ("0", None)])
def test_database_prepared_switches_server_side_binding(value: str | None, expected: Any) -> None:
    env = {**PRODUCTION, **({"DATABASE_PREPARED": value} if value is not None else {})}
    result = run_manage("shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.strip().splitlines()[-1])
    assert options.get("server_side_binding") is expected
    assert options.get("prepare_threshold") == (5 if expected else None)
