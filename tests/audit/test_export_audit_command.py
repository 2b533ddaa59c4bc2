"""`manage.py export_audit`: the same CSV to stdout or a file, a progress bar only on a
terminal, and a one-line error with a non-zero exit on bad input."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from approvals.models import ApprovalRequest
from tests.audit.conftest import read_csv

pytestmark = pytest.mark.django_db


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_it_writes_the_csv_to_stdout_without_a_progress_bar(
    decided_history: list[ApprovalRequest],
) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_audit", "--policy", "refund-approval", stdout=out, stderr=err)
    rows = read_csv(out.getvalue())
    assert rows[0][0] == "request_id" and len(rows) == 4
    assert err.getvalue() == ""  # not a terminal: nothing on stderr


def test_it_draws_a_progress_bar_on_a_terminal(
    decided_history: list[ApprovalRequest], tmp_path: Path
) -> None:
    err = FakeTerminal()
    target = tmp_path / "audit.csv"
    call_command("export_audit", "-o", str(target), stdout=io.StringIO(), stderr=err)
    assert "100% 3/3 decisions" in err.getvalue()
    assert err.getvalue().rstrip().endswith("Wrote 3 decisions to " + str(target) + ".")
    text = target.read_bytes().decode("utf-8")
    assert text.startswith("request_id,external_id,") and text.count("\r\n") == 4
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "soon"], "since='soon' is not a date"),
        (["--until", "2026-02-30"], "until='2026-02-30' is not a date"),
        (["--policy", "no-such-policy"], "Unknown policy 'no-such-policy'"),
        (["-o", "/no/such/dir/audit.csv"], "/no/such/dir is not a directory"),
    ],
)
def test_bad_input_is_a_one_line_error(args: list[str], message: str, tmp_path: Any) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        call_command("export_audit", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert "\n" not in str(caught.value)
    assert caught.value.returncode == 1
