"""Round robin's turn sequences on PostgreSQL, one per existing group (new groups get theirs
from a post_save signal: approvals/workload/assignment.py)."""

from django.db import migrations


def create_sequences(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    ReviewerGroup = apps.get_model("approvals", "ReviewerGroup")
    for pk in ReviewerGroup.objects.values_list("pk", flat=True):
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS approvals_rr_turn_{int(pk)}")


def drop_sequences(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    ReviewerGroup = apps.get_model("approvals", "ReviewerGroup")
    for pk in ReviewerGroup.objects.values_list("pk", flat=True):
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS approvals_rr_turn_{int(pk)}")


class Migration(migrations.Migration):
    dependencies = [("approvals", "0010_standing_approvals")]

    operations = [migrations.RunPython(create_sequences, drop_sequences)]
