"""Round robin's turn sequences on PostgreSQL: a schema of their own (the application role may
create sequences there: docs/security.md "Two database roles") and one sequence per existing
group; new groups get theirs from a post_save signal (approvals/workload/assignment.py)."""

from django.db import migrations

SCHEMA = "approvals_turns"


def create_sequences(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    ReviewerGroup = apps.get_model("approvals", "ReviewerGroup")
    for pk in ReviewerGroup.objects.values_list("pk", flat=True):
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SCHEMA}.group_{int(pk)}")


def drop_sequences(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


class Migration(migrations.Migration):
    dependencies = [("approvals", "0010_standing_approvals")]

    operations = [migrations.RunPython(create_sequences, drop_sequences)]
