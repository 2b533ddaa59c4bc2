from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    out = StringIO()
    # --check exits non-zero (SystemExit) when a migration is missing; the output names it.
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(
            f"makemigrations --check found changes:\n{out.getvalue()}"
        ) if exc.code else None


@pytest.mark.django_db
def test_the_managers_group_has_what_managers_need() -> None:
    codenames = set(
        Group.objects.get(name="Managers").permissions.values_list("codename", flat=True)
    )
    assert {
        "change_policy",
        "add_policyrule",
        "change_reviewergroup",
        "add_membership",
        "view_approvalrequest",
        "view_decision",
        "view_auditentry",
        "view_outboxevent",
        "export_audit",
    } <= codenames
    assert "change_approvalrequest" not in codenames
    assert "delete_policy" not in codenames
