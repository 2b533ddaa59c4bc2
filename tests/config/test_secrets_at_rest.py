"""Secrets at rest (docs/security.md "Secrets at rest and inputs"): policy signing secrets,
inbound source credentials and allauth's TOTP secrets and recovery seeds are Fernet tokens in
the database, never in a history table; FIELD_ENCRYPTION_KEYS rotates (an old key still
decrypts, `rotate_field_keys` moves everything to the new one); signing still verifies with
the standardwebhooks library."""

from __future__ import annotations

import importlib
import io
import json
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook

from approvals.callbacks.delivery import sign
from approvals.crypto import UndecryptableSecret, decrypt_text
from approvals.inbound.secrets import source_api_token, source_secret
from approvals.models import InboundSource, Policy
from approvals.services.policies import policy_rotate_secret
from tests.inbound.conftest import SECRETS, make_source

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_row(table: str, pk: Any) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [column[0] for column in cursor.description]
        row = cursor.fetchone()
    return dict(zip(names, row, strict=True))


def raw_history(table: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def holds(rows: list[dict[str, Any]], secret: str) -> bool:
    return any(secret in str(value) for row in rows for value in row.values())


def test_a_policys_signing_secrets_are_ciphertext_in_the_column(policy: Policy) -> None:
    secret = policy.signing_secret
    assert secret.startswith("whsec_")
    stored = raw_row("approvals_policy", policy.pk)["signing_secret"]
    assert secret not in stored and "whsec_" not in stored
    assert decrypt_text(stored) == secret
    old = secret
    new = policy_rotate_secret(policy=policy).signing_secret
    row = raw_row("approvals_policy", policy.pk)
    assert not holds([row], old) and not holds([row], new)
    assert decrypt_text(row["previous_signing_secret"]) == old
    reloaded = Policy.objects.get(pk=policy.pk)
    assert reloaded.signing_secrets() == [new, old]


def test_the_policy_history_holds_no_secret(policy: Policy) -> None:
    old = policy.signing_secret
    new = policy_rotate_secret(policy=policy).signing_secret
    policy.name = "Renamed"
    policy.save()
    history = raw_history("approvals_historicalpolicy")
    assert len(history) >= 2
    assert not any("secret" in column and "expires" not in column for column in history[0])
    assert not holds(history, old) and not holds(history, new)
    assert not hasattr(policy.history.first(), "signing_secret")  # type: ignore[attr-defined]


def test_inbound_credentials_are_ciphertext_and_kept_out_of_the_history(policy: Policy) -> None:
    source = make_source(policy, "hubspot", api_token="pat-hubspot-token-1")
    row = raw_row("approvals_inboundsource", source.pk)
    assert not holds([row], SECRETS["hubspot"]) and not holds([row], "pat-hubspot-token-1")
    assert decrypt_text(row["secret"]) == SECRETS["hubspot"]
    fresh = InboundSource.objects.get(pk=source.pk)
    assert source_secret(fresh) == SECRETS["hubspot"]
    assert source_api_token(fresh) == "pat-hubspot-token-1"
    history = raw_history("approvals_historicalinboundsource")
    assert history and not holds(history, SECRETS["hubspot"])
    assert not holds(history, "pat-hubspot-token-1")


def test_signing_with_the_stored_secrets_verifies_with_standardwebhooks(policy: Policy) -> None:
    old = policy.signing_secret
    policy_rotate_secret(policy=policy)
    policy = Policy.objects.get(pk=policy.pk)  # decrypted from the database
    at = timezone.now()
    data = json.dumps({"type": "approval.decided", "data": {"id": "x"}})
    signature = sign(secrets=policy.signing_secrets(at), msg_id="msg_1", at=at, data=data)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
    for secret in (policy.signing_secret, old):  # both during the rotation's grace period
        assert Webhook(secret).verify(data, headers) == json.loads(data)


def test_an_old_key_still_decrypts_and_rotate_field_keys_moves_to_the_new_one(
    policy: Policy, settings: Any
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_field_keys", stdout=io.StringIO())  # everything under OLD_KEY
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    secret = Policy.objects.get(pk=policy.pk).signing_secret
    source = make_source(policy, "shared-secret")
    stored = raw_row("approvals_policy", policy.pk)["signing_secret"]
    Fernet(OLD_KEY.encode()).decrypt(stored.encode())

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # the new key first, the old kept
    assert Policy.objects.get(pk=policy.pk).signing_secret == secret
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "Re-encrypted" in out.getvalue()
    stored = raw_row("approvals_policy", policy.pk)["signing_secret"]
    assert Fernet(NEW_KEY.encode()).decrypt(stored.encode()).decode() == secret
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY.encode()).decrypt(stored.encode())

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key dropped
    assert Policy.objects.get(pk=policy.pk).signing_secret == secret
    assert source_secret(InboundSource.objects.get(pk=source.pk)) == SECRETS["shared-secret"]

    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]  # a key that never wrote these: a clear error
    with pytest.raises(UndecryptableSecret, match="FIELD_ENCRYPTION_KEYS"):
        Policy.objects.get(pk=policy.pk)
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("rotate_field_keys")


def _totp_code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def test_totp_secrets_and_recovery_seeds_are_encrypted_by_the_mfa_adapter(
    reviewer: Any, settings: Any
) -> None:
    secret = generate_totp_secret()
    totp = TOTP.activate(reviewer, secret)
    stored = Authenticator.objects.get(pk=totp.instance.pk).data["secret"]
    assert stored != secret and secret not in stored
    assert decrypt_text(stored) == secret
    assert TOTP(Authenticator.objects.get(pk=totp.instance.pk)).validate_code(_totp_code(secret))

    codes = RecoveryCodes.activate(reviewer)
    seed = Authenticator.objects.get(pk=codes.instance.pk).data["seed"]
    assert len(decrypt_text(seed)) == 80 and decrypt_text(seed) not in seed
    unused = codes.get_unused_codes()

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_field_keys", stdout=io.StringIO())
    rotated = Authenticator.objects.get(pk=totp.instance.pk).data["secret"]
    assert Fernet(NEW_KEY.encode()).decrypt(rotated.encode()).decode() == secret
    assert RecoveryCodes(Authenticator.objects.get(pk=codes.instance.pk)).get_unused_codes() == (
        unused
    )


def test_the_migration_encrypts_values_stored_in_clear(policy: Policy, reviewer: Any) -> None:
    migration = importlib.import_module("approvals.migrations.0013_secrets_at_rest")
    source = make_source(policy, "hmac-sha256")
    clear = {"policy": "whsec_clear", "source": "clear-source-secret", "totp": "CLEARTOTPSECRET"}
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE approvals_policy SET signing_secret = %s, previous_signing_secret = ''"
            " WHERE id = %s",
            [clear["policy"], policy.pk],
        )
        cursor.execute(
            "UPDATE approvals_inboundsource SET secret = %s WHERE id = %s",
            [clear["source"], source.pk],
        )
    authenticator = Authenticator.objects.create(
        user=reviewer, type=Authenticator.Type.TOTP, data={"secret": clear["totp"]}
    )
    from django.apps import apps

    migration.encrypt_existing(apps, SimpleNamespace(connection=connection))
    row = raw_row("approvals_policy", policy.pk)
    assert row["signing_secret"] != clear["policy"] and row["previous_signing_secret"] == ""
    assert Policy.objects.get(pk=policy.pk).signing_secret == clear["policy"]
    assert source_secret(InboundSource.objects.get(pk=source.pk)) == clear["source"]
    stored = Authenticator.objects.get(pk=authenticator.pk).data["secret"]
    assert stored != clear["totp"] and decrypt_text(stored) == clear["totp"]
