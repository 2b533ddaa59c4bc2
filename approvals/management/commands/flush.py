"""Django's `flush`, able to empty the audit tables on PostgreSQL (docs/security.md).

The audit entry, decision and chain head tables refuse TRUNCATE for every role (migration
0013). A flush that was asked not to prompt (`--noinput`, and the test runner between
transactional tests) runs its TRUNCATE with `session_replication_role = replica`, which keeps
ordinary triggers from firing and which only a superuser may set; anyone else gets a one-line
error and nothing is emptied. An interactive flush is refused by the triggers.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, connections


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if connection.vendor != "postgresql" or options["interactive"]:
            super().handle(**options)
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
        except DatabaseError as exc:
            raise CommandError(
                f"flush needs a superuser on PostgreSQL: the audit tables refuse TRUNCATE ({exc})".replace(
                    "\n", " "
                )
            ) from None
        try:
            # post_migrate handlers run below, after the triggers are back on.
            super().handle(**{**options, "inhibit_post_migrate": True})
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
        if not options.get("inhibit_post_migrate", False):
            emit_post_migrate_signal(options["verbosity"], False, database)
