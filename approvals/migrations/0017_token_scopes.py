"""Scoped tokens and four-eyes by identity (docs/api.md "Tokens and callers", docs/security.md).

Existing tokens and requests move into one caller, "legacy": before this, every token saw every
request, so the tokens that existed keep seeing the requests that existed (and each other's new
ones), while new tokens get callers of their own. Existing tokens keep all three scopes and
every policy. Duplicate token names get " (id N)" appended before the names become unique.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def legacy_tokens(apps, schema_editor):
    ApiToken = apps.get_model("approvals", "ApiToken")
    ApiToken.objects.update(scopes=["create", "read", "cancel"])
    seen: set[str] = set()
    for token in ApiToken.objects.order_by("pk"):
        if token.name in seen:
            token.name = f"{token.name[:100]} (id {token.pk})"
            token.save(update_fields=["name"])
        seen.add(token.name)


class Migration(migrations.Migration):

    dependencies = [
        ('approvals', '0016_search'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='caller',
            field=models.CharField(default='legacy', help_text='The owner namespace: tokens of one caller see the same requests.', max_length=120),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='policy_ids',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='scopes',
            field=models.JSONField(default=list, help_text='Some of create, read, cancel.'),
        ),
        # Before the user column: no foreign key yet, so no deferred trigger events on PostgreSQL.
        migrations.RunPython(legacy_tokens, migrations.RunPython.noop),
        migrations.AddField(
            model_name='apitoken',
            name='user',
            field=models.ForeignKey(blank=True, help_text='The person this token acts for: never assigned, and never approves, its requests.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='api_tokens', to=settings.AUTH_USER_MODEL),
        ),
        # Existing rows get "legacy" (a column default the database fills in place), new rows "".
        migrations.AddField(
            model_name='approvalrequest',
            name='caller',
            field=models.CharField(blank=True, default='legacy', max_length=120),
        ),
        migrations.AlterField(
            model_name='approvalrequest',
            name='caller',
            field=models.CharField(blank=True, default='', max_length=120),
        ),
        migrations.AddField(
            model_name='approvalrequest',
            name='requester',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='requested_approvals', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='approvalrequest',
            name='requester_email',
            field=models.CharField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name='historicalapprovalrequest',
            name='caller',
            field=models.CharField(blank=True, default='', max_length=120),
        ),
        migrations.AddField(
            model_name='historicalapprovalrequest',
            name='requester',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalapprovalrequest',
            name='requester_email',
            field=models.CharField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name='historicalpolicy',
            name='requester_field',
            field=models.CharField(blank=True, help_text="Dotted path into the payload holding the requester's email, e.g. requested_by_email. Four-eyes: the reviewer with that verified email never gets, and cannot approve, the request (docs/security.md).", max_length=200),
        ),
        migrations.AddField(
            model_name='policy',
            name='requester_field',
            field=models.CharField(blank=True, help_text="Dotted path into the payload holding the requester's email, e.g. requested_by_email. Four-eyes: the reviewer with that verified email never gets, and cannot approve, the request (docs/security.md).", max_length=200),
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='name',
            field=models.CharField(max_length=120, unique=True),
        ),
        migrations.AddIndex(
            model_name='approvalrequest',
            index=models.Index(fields=['caller', '-created_at', '-id'], name='req_caller_created'),
        ),
        # External ids are each caller's own: one open request per policy, caller and id.
        migrations.RemoveConstraint(
            model_name='approvalrequest',
            name='request_one_open_per_external_id',
        ),
        migrations.AddConstraint(
            model_name='approvalrequest',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'pending'), models.Q(('external_id', ''), _negated=True)), fields=('policy', 'caller', 'external_id'), name='request_one_open_per_external_id'),
        ),
    ]
