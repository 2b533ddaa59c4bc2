"""The audit chain is sealed after commit (docs/architecture.md "The audit chain: sealed after
commit").

Services insert entries unsealed: `seq` null, `prev_hash` and `entry_hash` empty. The sealer
fills those three columns once, in chain order. On PostgreSQL the append-only trigger of
migration 0003 now allows exactly that one UPDATE per row — from unsealed to sealed, nothing
else changed — and still refuses every other UPDATE and every DELETE. The Decision trigger is
unchanged: its `entry_hash` is filled once (now by the sealer).
"""

from __future__ import annotations

from django.db import migrations, models

FORWARD_SQL = """
CREATE OR REPLACE FUNCTION checkpoint_auditentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.seq IS NULL AND OLD.entry_hash = '' AND OLD.prev_hash = ''
       AND NEW.seq IS NOT NULL AND NEW.entry_hash <> '' AND NEW.prev_hash <> ''
       AND (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'entry_hash')
           = (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'entry_hash') THEN
        RETURN NEW;  -- the one sealing write
    END IF;
    RAISE EXCEPTION 'approvals_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
"""

# Migration 0003's function: every UPDATE and DELETE refused.
REVERSE_SQL = """
CREATE OR REPLACE FUNCTION checkpoint_auditentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'approvals_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def allow_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL, params=None)


def refuse_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0007_notification_batches")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_unsealed"
            ),
        ),
        migrations.RunPython(allow_sealing, refuse_sealing),
    ]
