"""Deploy checks (`manage.py check --deploy`): what production needs beyond Django's own list.

docs/security.md explains each; docs/operations.md lists the variables. The database-role check
reads the catalogue of the default connection on PostgreSQL only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError, connection

AUDIT_TABLE = "approvals_auditentry"


@register(Tags.security, deploy=True)
def check_site_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if urlsplit(settings.SITE_URL).scheme != "https":
        return [
            Warning(
                f"SITE_URL={settings.SITE_URL!r} is not https://: email links and the links in "
                "callbacks would send tokens in clear.",
                hint="Set SITE_URL to the https:// address people and callers use.",
                id="checkpoint.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_audit_checkpoints(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if not settings.AUDIT_SIGNING_KEY_ID:
        messages.append(
            Warning(
                "AUDIT_SIGNING_KEY is not set: the audit chain's head is never signed, so a "
                "database owner can rewrite the trail and recompute every hash unnoticed.",
                hint="Set AUDIT_SIGNING_KEY=<key id>:<secret> (docs/security.md).",
                id="checkpoint.W002",
            )
        )
    if not settings.AUDIT_CHECKPOINT_URL:
        messages.append(
            Warning(
                "AUDIT_CHECKPOINT_URL is not set: signed checkpoints are not kept outside the "
                "database.",
                hint="Set AUDIT_CHECKPOINT_URL=file:///a/directory/the/database/owner/cannot/write.",
                id="checkpoint.W003",
            )
        )
    return messages


OWNER_SQL = """
SELECT pg_has_role(c.relowner, 'USAGE'), r.rolsuper
FROM pg_class c, pg_roles r
WHERE c.oid = to_regclass(%s) AND r.rolname = current_user
"""


@register(Tags.security, Tags.database, deploy=True)
def check_database_role(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the app's own connection could switch the audit triggers off."""
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute(OWNER_SQL, [AUDIT_TABLE])
            row = cursor.fetchone()
    except DatabaseError as exc:
        return [
            Warning(
                " ".join(f"Could not check the database role: {exc}".split()),
                hint="Run the deploy check where the database is reachable.",
                id="checkpoint.W005",
            )
        ]
    if row is None:
        return []  # not migrated yet
    owns, superuser = row
    if owns or superuser:
        who = "a superuser" if superuser else f"the owner of {AUDIT_TABLE}"
        return [
            Warning(
                f"The application connects to PostgreSQL as {who} ({connection.settings_dict['USER']!r}): "
                "it could disable the audit triggers and rewrite the trail.",
                hint="Migrate as an owner role and run the app as a role with only the rights "
                'docs/security.md "Two database roles" grants.',
                id="checkpoint.W004",
            )
        ]
    return []
