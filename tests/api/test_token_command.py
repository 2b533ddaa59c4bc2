"""`create_api_token NAME [--policy SLUG …] [--scope …] [--expires-days N] [--caller NAME]
[--user USERNAME]` (docs/api.md "Tokens and callers")."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from approvals.models import ApiToken
from approvals.services.tokens import api_token_authenticate

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue()


def test_defaults_are_every_scope_every_policy_no_expiry_and_the_name_as_caller() -> None:
    raw = run("zendesk").strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert api_token_authenticate(raw=raw) == token
    assert token.scopes == ["create", "read", "cancel"] and token.policy_ids == []
    assert token.expires_at is None and token.caller == "zendesk" and token.user is None


def test_limits_are_stored(policy: Any, requester: Any) -> None:
    out = run(
        "agent",
        "--policy",
        "refund-approval",
        "--scope",
        "create,read",
        "--expires-days",
        "7",
        "--caller",
        "agents",
        "--user",
        "rita",
    )
    token = ApiToken.objects.get()
    assert (token.scopes, token.policy_ids, token.caller) == (
        ["create", "read"],
        [policy.pk],
        "agents",
    )
    assert token.user == requester and token.expires_at is not None
    assert "policies refund-approval" in out.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--scope", "create,delete"], "use some of create,read,cancel"),
        (["x", "--scope", " , "], "use some of"),
        (["x", "--policy", "nope"], "There is no policy nope"),
        (["x", "--expires-days", "0"], "--expires-days must be 1 to"),
        (["x", "--expires-days", "99999"], "--expires-days must be 1 to"),
        (["x", "--user", "ghost"], "There is no user 'ghost'"),
        (["x", "--caller", "   "], "--caller must not be empty"),
        (["taken"], "There is already a token named 'taken'"),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(
    policy: Any, args: list[str], message: str
) -> None:
    run("taken")
    with pytest.raises(CommandError, match=message) as caught:
        run(*args)
    assert "\n" not in str(caught.value)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["taken"]
