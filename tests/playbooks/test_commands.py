"""The management commands of docs/api.md "Commands": --help, one-line errors, and what each one does."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from approvals.models import (
    ApiToken,
    ApprovalRequest,
    Decision,
    Membership,
    Policy,
    ReviewerGroup,
    StandingApproval,
)

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["install_playbook", "add_reviewer", "seed_demo", "create_api_token"]


def manage(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run manage.py as an operator would; the database is a throwaway file never migrated,
    so only checks that come before any query can pass through here."""
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    env.update(
        DEBUG="1", CHECKPOINT_DEMO="1", DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def assert_one_line_error(result: subprocess.CompletedProcess[str], *, contains: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert contains in lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    result = manage(command, "--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["install_playbook"], "use --all"),
        (["install_playbook", "nope"], "Unknown playbook 'nope'"),
        (["install_playbook", "refund-approval", "--all"], "not both"),
        (["add_reviewer", "alice"], "--group"),
        (["add_reviewer"], "username"),
        (["create_api_token"], "name"),
        (["create_api_token", "  "], "must not be empty"),
        (["create_api_token", "x", "--expires-days", "soon"], "invalid int value"),
        (["create_api_token", "x", "--scope", "write"], "use some of create,read,cancel"),
        (["seed_demo", "--requests", "many"], "invalid int value"),
        (["seed_demo", "--requests", "-1"], "between 0 and"),
        (["install_playbook", "--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    assert_one_line_error(manage(*args, tmp_path=tmp_path), contains=message)


@pytest.mark.django_db
def test_install_playbook_reports_installed_then_unchanged() -> None:
    assert run("install_playbook", "refund-approval") == "refund-approval: installed (version 1)\n"
    assert run("install_playbook", "--all").count("installed") == 5
    assert "refund-approval: unchanged (version 1)" in run("install_playbook", "--all")


@pytest.mark.django_db
def test_add_reviewer_creates_the_user_and_the_membership() -> None:
    run("install_playbook", "refund-approval")
    out = run(
        "add_reviewer",
        "zoe",
        "--group",
        "support-leads",
        "--email",
        "zoe@example.com",
        "--password",
        "a-long-demo-pass-9",
    )
    assert out == "Created zoe in support-leads.\n"
    user = get_user_model().objects.get(username="zoe")
    assert user.check_password("a-long-demo-pass-9") and user.email == "zoe@example.com"
    assert (
        run("add_reviewer", "zoe", "--group", "support-leads") == "Updated zoe in support-leads.\n"
    )
    assert Membership.objects.filter(user=user).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["zoe", "--group", "nope"], "Unknown group 'nope'"),
        (["zoe", "--group", "support-leads", "--email", "not-an-email"], "is not an email"),
        (["zoe", "--group", "support-leads", "--password", "123"], "too short"),
    ],
)
def test_add_reviewer_refuses_bad_input_in_one_line(args: list[str], message: str) -> None:
    run("install_playbook", "refund-approval")
    with pytest.raises(CommandError, match=message) as caught:
        call_command("add_reviewer", *args)
    assert "\n" not in str(caught.value)
    assert not get_user_model().objects.filter(username="zoe").exists()


@pytest.mark.django_db
def test_create_api_token_prints_the_token_last_and_stores_only_its_hash() -> None:
    out = run("create_api_token", "zendesk")
    raw = out.strip().splitlines()[-1]
    token = ApiToken.objects.get(name="zendesk")
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix)
    assert raw not in {token.name, token.prefix, token.token_hash}


@pytest.mark.django_db
def test_seed_demo_is_idempotent() -> None:
    first = run("seed_demo", "--requests", "25")
    assert "25 requests" in first and "manager@example.com" in first
    counts = (
        ApprovalRequest.objects.count(),
        Decision.objects.count(),
        get_user_model().objects.count(),
        [policy.version for policy in Policy.objects.all()],
    )
    # The 25 samples, and one Bash call a supervisor approved and remembered.
    assert counts[0] == 26 and ReviewerGroup.objects.count() == 7
    assert StandingApproval.objects.filter(conditions={"tool_name": "Bash"}).count() == 1
    assert ApprovalRequest.objects.filter(route="auto").exists()
    assert Decision.objects.filter(channel="web").exists()
    second = run("seed_demo", "--requests", "25")
    assert "0 users, 0 requests and 0 decisions" in second
    assert counts == (
        ApprovalRequest.objects.count(),
        Decision.objects.count(),
        get_user_model().objects.count(),
        [policy.version for policy in Policy.objects.all()],
    )


@pytest.mark.django_db
def test_seed_demo_makes_a_staff_manager_and_reviewers_who_can_log_in(client: object) -> None:
    run("seed_demo", "--requests", "0")
    manager = get_user_model().objects.get(username="manager")
    assert manager.is_staff and not manager.is_superuser
    assert manager.groups.filter(name="Managers").exists()
    assert get_user_model().objects.get(username="alice").check_password("demo-pass-123")


def test_seed_demo_logins_only_touches_nothing(tmp_path: Path) -> None:
    result = manage("seed_demo", "--logins-only", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "alice@example.com" in result.stdout
