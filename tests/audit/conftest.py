from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.db import connection

from approvals.models import ApprovalRequest
from approvals.services import approval_decide

HOSTILE = [
    '=HYPERLINK("http://x")',
    "@SUM(A1)",
    "-2+3",
    "+1",
    "\tleading tab",
    "\rleading carriage return",
    'she said "approve" twice',
    "line one\nline two\r\nline three",
    "naïve café \u2013 日本語 ✓ 🙂",
    "plain, with a comma",
]


def expected_cell(value: str) -> str:
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def joined(lines: Iterable[str | bytes]) -> str:
    parts = [line.decode("utf-8") if isinstance(line, bytes) else line for line in lines]
    return "".join(parts)


@pytest.fixture
def decided_history(
    submit: Callable[..., ApprovalRequest], reviewer: Any, other_reviewer: Any
) -> list[ApprovalRequest]:
    """One auto approval, one human approval, one rejection (by bob)."""
    auto = submit(payload={"amount": 10})
    approved = submit()
    approval_decide(approval=approved, reviewer=reviewer, option="approve", comment="ok")
    rejected = submit()
    approval_decide(approval=rejected, reviewer=other_reviewer, option="reject", comment="no")
    return [auto, approved, rejected]


AUDIT_TABLES = ("approvals_decision", "approvals_auditentry", "approvals_auditchainhead")


@pytest.fixture
def raw_sql() -> Callable[..., None]:
    """Run SQL the way a person with database access would, around the app's services.

    On PostgreSQL the append-only and head triggers are disabled first, as the tables' owner could;
    the test's transaction rolls the ALTERs back with everything else.
    """

    def run(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # ALTER TABLE needs the deferred foreign-key checks settled first.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in AUDIT_TABLES:
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            if connection.vendor == "postgresql":
                for table in AUDIT_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    return run
