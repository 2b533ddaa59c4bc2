"""The inbox group queue reads its own partial index (docs/performance.md "The inbox")."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0008_audit_sealing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="approvalrequest",
            index=models.Index(
                condition=models.Q(("status", "pending"), ("assignee__isnull", True)),
                fields=["assigned_group", "due_at", "id"],
                name="req_queue_due",
            ),
        ),
    ]
