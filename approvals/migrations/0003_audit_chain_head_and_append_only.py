"""The audit trail's database guarantees.

1. The chain head row (id=1) exists from the first migrate, so `audit_append` only ever locks
   it and never races another first append on an INSERT.
2. On PostgreSQL, triggers make the trail append-only for the application's own connection:
   - approvals_auditentry: every UPDATE and DELETE is refused.
   - approvals_decision: DELETE is refused; UPDATE is refused unless it only fills
     `entry_hash` once (empty -> the chain value, written by audit_append right after the
     insert) and/or sets `is_final` false -> true (approval_decide marks the vote that met the
     last stage's quorum). Comparing the rows as jsonb minus those two keys keeps any column
     added later protected too.
   The error is SQLSTATE 23001 (restrict_violation), which Django raises as IntegrityError.
   TRUNCATE is not refused: test runs flush tables with it. The table owner can still disable
   the triggers; in production run the app as a role that does not own the tables.
SQLite has no equivalent we can use (Django's test flush deletes rows), and `verify_audit`
detects tampering there instead.
"""

from __future__ import annotations

from django.db import migrations

GENESIS_HASH = "0" * 64

FORWARD_SQL = """
CREATE OR REPLACE FUNCTION checkpoint_auditentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'approvals_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

DROP TRIGGER IF EXISTS auditentry_append_only ON approvals_auditentry;
CREATE TRIGGER auditentry_append_only
    BEFORE UPDATE OR DELETE ON approvals_auditentry
    FOR EACH ROW EXECUTE FUNCTION checkpoint_auditentry_append_only();

CREATE OR REPLACE FUNCTION checkpoint_decision_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'approvals_decision is append-only: DELETE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (to_jsonb(NEW) - 'entry_hash' - 'is_final') IS DISTINCT FROM
           (to_jsonb(OLD) - 'entry_hash' - 'is_final')
       OR (OLD.entry_hash <> '' AND NEW.entry_hash IS DISTINCT FROM OLD.entry_hash)
       OR (OLD.is_final AND NOT NEW.is_final) THEN
        RAISE EXCEPTION 'approvals_decision is append-only: UPDATE of decision % refused', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS decision_append_only ON approvals_decision;
CREATE TRIGGER decision_append_only
    BEFORE UPDATE OR DELETE ON approvals_decision
    FOR EACH ROW EXECUTE FUNCTION checkpoint_decision_append_only();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS decision_append_only ON approvals_decision;
DROP FUNCTION IF EXISTS checkpoint_decision_append_only();
DROP TRIGGER IF EXISTS auditentry_append_only ON approvals_auditentry;
DROP FUNCTION IF EXISTS checkpoint_auditentry_append_only();
"""


def create_chain_head(apps, schema_editor):
    AuditChainHead = apps.get_model("approvals", "AuditChainHead")
    AuditChainHead.objects.using(schema_editor.connection.alias).get_or_create(
        id=1, defaults={"seq": 0, "last_hash": GENESIS_HASH}
    )


def add_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL, params=None)


def remove_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_managers_group")]

    operations = [
        migrations.RunPython(create_chain_head, migrations.RunPython.noop),
        migrations.RunPython(add_triggers, remove_triggers),
    ]
