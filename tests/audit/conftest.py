from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection


@pytest.fixture
def raw_sql() -> Callable[..., None]:
    """Run SQL the way a person with database access would, around the app's services.

    On PostgreSQL the append-only triggers are disabled first, as the tables' owner could;
    the test's transaction rolls the ALTERs back with everything else.
    """

    def run(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # ALTER TABLE needs the deferred foreign-key checks settled first.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("ALTER TABLE approvals_decision DISABLE TRIGGER USER")
                cursor.execute("ALTER TABLE approvals_auditentry DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE approvals_decision ENABLE TRIGGER USER")
                cursor.execute("ALTER TABLE approvals_auditentry ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    return run
