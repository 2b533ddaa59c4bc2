from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

import pytest

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
