"""The inbox's search (docs/performance.md "Search"): a `search_text` column (title, external id
and the policy's visible fields, lower-cased), filled for existing rows, a trigram GIN index
on it on PostgreSQL (pg_trgm: any substring of three or more characters through the index),
and two partial indexes for sorting the open work by age."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRGM_INDEX = "req_search_trgm"


def fill_search_text(apps: Any, schema_editor: Any) -> None:
    from approvals.formats import search_text

    request_model = apps.get_model("approvals", "ApprovalRequest")
    rows = request_model.objects.select_related("policy").only(
        "id", "title", "external_id", "payload", "policy__visible_fields"
    )
    batch = []
    for row in rows.iterator(chunk_size=2000):
        row.search_text = search_text(row)
        batch.append(row)
        if len(batch) >= 2000:
            request_model.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        request_model.objects.bulk_update(batch, ["search_text"])


def create_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite searches with LIKE (approvals/inbox/selectors.py)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON approvals_approvalrequest "
        "USING gin (search_text gin_trgm_ops)"
    )


def drop_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0015_deeplinks"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddField(
            model_name="approvalrequest",
            name="search_text",
            field=models.TextField(blank=True, db_default="", editable=False),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
        migrations.AddIndex(
            model_name="approvalrequest",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["assignee", "created_at", "id"],
                name="req_assignee_age",
            ),
        ),
        migrations.AddIndex(
            model_name="approvalrequest",
            index=models.Index(
                condition=models.Q(("status", "pending"), ("assignee__isnull", True)),
                fields=["assigned_group", "created_at", "id"],
                name="req_queue_age",
            ),
        ),
    ]
