"""Secrets at rest (docs/security.md "Secrets at rest and inputs").

Policy signing secrets and inbound source credentials become Fernet tokens (approvals/fields.py),
and so do allauth's TOTP secrets and recovery-code seeds (approvals/adapters.py MFAAdapter);
the policy history loses its copies of the signing secrets. The existing values are encrypted
with the first key of FIELD_ENCRYPTION_KEYS, read and written as raw column values so the field
classes play no part. (PostgreSQL keeps the old row versions until they are vacuumed:
docs/operations.md says to run VACUUM FULL on these tables after the upgrade.)
"""

from typing import Any

from django.db import migrations

import approvals.fields
import approvals.models

COLUMNS = {
    "policy": ("signing_secret", "previous_signing_secret"),
    "inboundsource": ("secret", "api_token"),
}


def _convert(apps: Any, schema_editor: Any, change: Any) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    for model_name, columns in COLUMNS.items():
        table = apps.get_model("approvals", model_name)._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, {', '.join(map(quote, columns))} FROM {quote(table)}")
            rows = cursor.fetchall()
            for pk, *values in rows:
                new = [change(value) if value else value for value in values]
                sets = ", ".join(f"{quote(column)} = %s" for column in columns)
                cursor.execute(f"UPDATE {quote(table)} SET {sets} WHERE id = %s", [*new, pk])
    authenticator = apps.get_model("mfa", "Authenticator")
    for row in authenticator.objects.all():
        data = dict(row.data)
        for key in ("secret", "seed"):
            if isinstance(data.get(key), str):
                data[key] = change(data[key])
        if isinstance(data.get("migrated_codes"), list):
            data["migrated_codes"] = [change(code) for code in data["migrated_codes"]]
        if data != row.data:
            authenticator.objects.filter(pk=row.pk).update(data=data)


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    from approvals.crypto import encrypt_text

    _convert(apps, schema_editor, encrypt_text)


def decrypt_existing(apps: Any, schema_editor: Any) -> None:
    from approvals.crypto import decrypt_text

    _convert(apps, schema_editor, decrypt_text)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0012_audit_guard"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [
        migrations.RemoveField(model_name="historicalpolicy", name="previous_signing_secret"),
        migrations.RemoveField(model_name="historicalpolicy", name="signing_secret"),
        migrations.AlterField(
            model_name="inboundsource",
            name="api_token",
            field=approvals.fields.EncryptedTextField(
                blank=True, editable=False, help_text="HubSpot private-app token."
            ),
        ),
        migrations.AlterField(
            model_name="inboundsource",
            name="secret",
            field=approvals.fields.EncryptedTextField(editable=False),
        ),
        migrations.AlterField(
            model_name="policy",
            name="previous_signing_secret",
            field=approvals.fields.EncryptedTextField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name="policy",
            name="signing_secret",
            field=approvals.fields.EncryptedTextField(
                default=approvals.models.new_signing_secret, editable=False
            ),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
