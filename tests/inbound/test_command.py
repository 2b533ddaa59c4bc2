"""`manage.py inbound_source`: creates or updates idempotently, prints the URL, one-line errors."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from approvals.inbound.secrets import source_api_token, source_secret
from approvals.models import InboundSource, Policy
from tests.playbooks.test_commands import assert_one_line_error, manage

ARGS = [
    "hubspot-deals",
    "--policy", "refund-approval",
    "--verification", "hubspot",
    "--secret", "client-secret-1",
    "--token", "pat-1",
    "--title", "Discount for {properties.dealname}",
    "--external-id", "object.objectId",
    "--field", "amount=properties.amount",
    "--field", "currency=properties.deal_currency_code",
]  # fmt: skip


def run(*args: str) -> str:
    out = StringIO()
    call_command("inbound_source", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_source_and_prints_its_url(policy: Policy, settings: Any) -> None:
    settings.SITE_URL = "https://checkpoint.example"
    out = run(*ARGS)
    assert out.strip().splitlines()[-1] == "https://checkpoint.example/api/v1/inbound/hubspot-deals"
    source = InboundSource.objects.get()
    assert source.policy == policy and source.verification == "hubspot"
    assert source.title_template == "Discount for {properties.dealname}"
    assert source.external_id_path == "object.objectId"
    assert source.payload_fields == {
        "amount": "properties.amount",
        "currency": "properties.deal_currency_code",
    }
    assert source_secret(source) == "client-secret-1" and source_api_token(source) == "pat-1"


def test_running_it_again_updates_the_same_source(policy: Policy) -> None:
    run(*ARGS)
    out = run(*[a if a != "client-secret-1" else "client-secret-2" for a in ARGS])
    assert out.startswith("Updated inbound source hubspot-deals")
    source = InboundSource.objects.get()
    assert source_secret(source) == "client-secret-2"
    assert source_api_token(source) == "pat-1"
    run(*ARGS)
    assert InboundSource.objects.count() == 1


def test_the_secrets_stay_out_of_the_history(policy: Policy) -> None:
    run(*ARGS)
    run(*[a if a != "client-secret-1" else "client-secret-2" for a in ARGS])
    history = InboundSource.history.all()  # type: ignore[attr-defined]
    assert history.count() == 2
    assert not any(hasattr(row, "secret") or hasattr(row, "api_token") for row in history)


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--verification", "github", "Unknown verification"),
        ("--title", "{deal.__class__!r}", "title"),
        ("--title", "{amount:>10}", "title"),
        ("--external-id", "object[0]", "external_id"),
        ("--field", "amount", "NAME=PATH"),
    ],
    ids=["kind", "attribute", "format-spec", "path", "field"],
)
def test_bad_input_is_a_one_line_error_and_a_non_zero_exit(
    flag: str, value: str, message: str, tmp_path: Path
) -> None:
    args = list(ARGS)
    args[args.index(flag) + 1] = value
    assert_one_line_error(manage("inbound_source", *args, tmp_path=tmp_path), contains=message)


def test_an_unknown_policy_or_a_bad_whsec_secret_is_refused(policy: Policy) -> None:
    with pytest.raises(CommandError, match="no policy 'nope'"):
        run(*[a if a != "refund-approval" else "nope" for a in ARGS])
    args = [a if a != "hubspot" else "standard-webhooks" for a in ARGS]
    with pytest.raises(CommandError, match="whsec_"):
        run(*args)
    assert not InboundSource.objects.exists()


def test_help_names_the_kinds(tmp_path: Path) -> None:
    result = manage("inbound_source", "--help", tmp_path=tmp_path)
    assert result.returncode == 0
    assert "standard-webhooks" in result.stdout and "shared-secret" in result.stdout
