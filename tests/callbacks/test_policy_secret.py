"""`manage.py policy_secret SLUG [--rotate]` (docs/api.md "Commands")."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from approvals.models import Policy


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("policy_secret", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_it_prints_the_secret(policy: Policy) -> None:
    assert run("refund-approval") == policy.signing_secret
    assert run("refund-approval").startswith("whsec_")


def test_rotate_makes_a_new_secret_and_keeps_the_old_one_signing(policy: Policy) -> None:
    old = policy.signing_secret
    new = run("refund-approval", "--rotate")
    assert new != old and new.startswith("whsec_")
    policy.refresh_from_db()
    assert policy.signing_secrets() == [new, old]
    assert run("refund-approval") == new


def test_an_unknown_policy_is_a_one_line_error(db: Any) -> None:
    with pytest.raises(CommandError, match="No policy with slug 'nope'"):
        call_command("policy_secret", "nope")
