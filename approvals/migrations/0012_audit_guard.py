"""Guards against rewriting the audit trail wholesale (docs/security.md "The audit trail").

On PostgreSQL:

1. `BEFORE TRUNCATE` triggers on the audit entry, decision and chain head tables refuse
   TRUNCATE, to every role: a role given `GRANT ALL` (or the owner, or a superuser typing it)
   can no longer empty the trail in one statement; TRUNCATE ... CASCADE from the request table
   is refused too. Only a superuser can get past them without altering the tables, with
   `session_replication_role = replica`: `manage.py flush --noinput` (and so the test runner)
   does that (approvals/management/commands/flush.py).
2. The chain head (approvals_auditchainhead, id 1) only moves forward, and only onto a sealed
   entry: an UPDATE must keep id 1, raise `seq` (or leave the row as it is), and name a sealed
   entry whose `seq` and `entry_hash` are the new values. An INSERT (the sealer recreates a
   missing row) must point at such an entry or at the genesis (0, 64 zeros). DELETE is refused.
   The error is SQLSTATE 23001 (restrict_violation), raised by Django as IntegrityError.

The table owner can still disable these triggers, and a superuser bypass them: the signed
checkpoints kept outside the database (approvals/audit/checkpoints.py) are what catch that.
"""

from __future__ import annotations

from django.db import migrations

TABLES = ("approvals_auditentry", "approvals_decision", "approvals_auditchainhead")

FORWARD_SQL = """
CREATE OR REPLACE FUNCTION checkpoint_audit_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE OR REPLACE FUNCTION checkpoint_audit_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head cannot be deleted'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id <> 1 THEN
        RAISE EXCEPTION 'the audit chain head is row 1 only'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.seq = OLD.seq AND NEW.last_hash = OLD.last_hash THEN
            RETURN NEW;  -- a no-op write
        END IF;
        IF NEW.seq <= OLD.seq THEN
            RAISE EXCEPTION 'the audit chain head only moves forward: #% -> #% refused',
                OLD.seq, NEW.seq USING ERRCODE = 'restrict_violation';
        END IF;
    ELSIF NEW.seq = 0 AND NEW.last_hash = repeat('0', 64) THEN
        RETURN NEW;  -- INSERT of the genesis head
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM approvals_auditentry
        WHERE seq = NEW.seq AND entry_hash = NEW.last_hash
    ) THEN
        RAISE EXCEPTION 'the audit chain head must point at a sealed entry: #% refused', NEW.seq
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS auditchainhead_forward_only ON approvals_auditchainhead;
CREATE TRIGGER auditchainhead_forward_only
    BEFORE INSERT OR UPDATE OR DELETE ON approvals_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION checkpoint_audit_head_forward_only();
""" + "".join(
    f"""
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION checkpoint_audit_no_truncate();
"""
    for table in TABLES
)

REVERSE_SQL = (
    "".join(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};\n" for table in TABLES)
    + """
DROP TRIGGER IF EXISTS auditchainhead_forward_only ON approvals_auditchainhead;
DROP FUNCTION IF EXISTS checkpoint_audit_head_forward_only();
DROP FUNCTION IF EXISTS checkpoint_audit_no_truncate();
"""
)


def add_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL, params=None)


def remove_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0011_round_robin_turns")]

    operations = [migrations.RunPython(add_guards, remove_guards)]
