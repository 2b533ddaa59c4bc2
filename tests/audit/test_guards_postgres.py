"""The guards of migration 0013 and the two-role set-up of docs/security.md, on PostgreSQL.

Roles are created inside the test's transaction (CREATE ROLE is transactional), under names
unique to this test database, and vanish with the rollback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from approvals.audit.sealing import sealed_head
from approvals.audit.verify import audit_verify
from approvals.checks import check_database_role
from approvals.models import ApprovalRequest, AuditEntry, Decision
from approvals.services import approval_decide
from tests.conftest import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]

SECURITY_MD = Path(__file__).resolve().parents[2] / "docs" / "security.md"
GUARDED = ("approvals_auditentry", "approvals_decision", "approvals_auditchainhead")


def _execute(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _role(suffix: str) -> str:
    return f"{connection.settings_dict['NAME']}_{suffix}".lower()


@pytest.fixture
def decided(pending: ApprovalRequest, reviewer: Any) -> Decision:
    return approval_decide(approval=pending, reviewer=reviewer, option="approve", comment="ok")


@pytest.fixture
def granted_all() -> Iterator[str]:
    """A non-superuser role with GRANT ALL on every table, as the issue describes; the
    connection acts as it until the test ends."""
    role = _role("grant_all")
    _execute(f"CREATE ROLE {role} NOLOGIN")
    _execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    _execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    _execute(f"SET ROLE {role}")
    yield role
    _execute("RESET ROLE")


def _refused(sql: str, params: list[Any] | None = None) -> str:
    # TRUNCATE needs the deferred foreign-key checks of the test's own writes settled first.
    _execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        _execute(sql, params)
    _execute("SET CONSTRAINTS ALL DEFERRED")
    return str(caught.value)


@pytest.mark.parametrize("table", GUARDED)
def test_truncate_is_refused(decided: Decision, table: str) -> None:
    # The suite's connection: the tables' owner, a superuser.
    assert f"{table} is append-only: TRUNCATE refused" in _refused(f"TRUNCATE {table} CASCADE")
    assert Decision.objects.filter(pk=decided.pk).exists()


@pytest.mark.parametrize("table", GUARDED)
def test_truncate_is_refused_even_with_grant_all(
    decided: Decision, granted_all: str, table: str
) -> None:
    assert f"{table} is append-only: TRUNCATE refused" in _refused(f"TRUNCATE {table} CASCADE")


def test_truncate_cascading_from_the_requests_is_refused(
    decided: Decision, granted_all: str
) -> None:
    message = _refused("TRUNCATE approvals_approvalrequest CASCADE")
    assert "is append-only: TRUNCATE refused" in message
    _execute("RESET ROLE")
    assert Decision.objects.filter(pk=decided.pk).exists()
    assert audit_verify().ok


def test_the_head_cannot_be_rewound(decided: Decision) -> None:
    head = sealed_head()
    earlier = AuditEntry.objects.get(seq=head.seq - 1)
    message = _refused(
        "UPDATE approvals_auditchainhead SET seq = %s, last_hash = %s WHERE id = 1",
        [earlier.seq, earlier.entry_hash],
    )
    assert f"only moves forward: #{head.seq} -> #{earlier.seq} refused" in message
    assert sealed_head() == head


def test_the_head_cannot_point_at_an_arbitrary_hash(decided: Decision) -> None:
    head = sealed_head()
    message = _refused(
        "UPDATE approvals_auditchainhead SET seq = %s, last_hash = %s WHERE id = 1",
        [head.seq + 1, "f" * 64],
    )
    assert f"must point at a sealed entry: #{head.seq + 1} refused" in message
    # Not even its own sequence with another hash.
    _refused("UPDATE approvals_auditchainhead SET last_hash = %s WHERE id = 1", ["f" * 64])


def test_the_head_cannot_be_deleted_or_duplicated(decided: Decision) -> None:
    assert "cannot be deleted" in _refused("DELETE FROM approvals_auditchainhead")
    assert "row 1 only" in _refused(
        "INSERT INTO approvals_auditchainhead (id, seq, last_hash) VALUES (2, 0, %s)", ["0" * 64]
    )


def test_the_sealer_still_moves_the_head(
    decided: Decision, submit: Any, reviewer: Any, granted_all: str
) -> None:
    before = sealed_head()
    approval_decide(approval=submit(), reviewer=reviewer, option="reject", comment="no")
    after = sealed_head()
    assert after.seq > before.seq
    assert AuditEntry.objects.get(seq=after.seq).entry_hash == after.hash


def _documented_grants() -> str:
    text = SECURITY_MD.read_text()
    section = text.split("### Two database roles", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2, "docs/security.md: the roles block and the grants block"
    return blocks[1]


@pytest.fixture
def app_role() -> Iterator[str]:
    """The documented application role (under a test name), with the documented grants."""
    owner, app = _role("owner"), _role("app")
    _execute(f"CREATE ROLE {owner} NOLOGIN")
    _execute(f"CREATE ROLE {app} NOLOGIN")
    grants = _documented_grants().replace("checkpoint_app", app).replace("checkpoint_owner", owner)
    _execute(grants)
    _execute(f"SET ROLE {app}")
    yield app
    _execute("RESET ROLE")


def test_the_documented_application_role_can_do_its_work(
    app_role: str, submit: Any, reviewer: Any
) -> None:
    before = sealed_head()
    approval = submit()
    decision = approval_decide(approval=approval, reviewer=reviewer, option="approve", comment="k")

    entry = AuditEntry.objects.get(decision=decision)
    assert entry.seq is not None and entry.entry_hash == decision.entry_hash != ""
    assert before.seq < entry.seq <= sealed_head().seq
    assert audit_verify().ok
    assert check_database_role() == []


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE approvals_decision SET comment = 'fine'",
        "DELETE FROM approvals_auditentry",
        "TRUNCATE approvals_auditentry CASCADE",
        "ALTER TABLE approvals_auditentry DISABLE TRIGGER USER",
    ],
)
def test_the_documented_application_role_cannot_rewrite(
    decided: Decision, app_role: str, sql: str
) -> None:
    _execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        _execute(sql)
    assert "permission denied" in str(caught.value) or "must be owner" in str(caught.value)


def test_the_deploy_check_warns_when_the_app_owns_the_audit_table(db: Any) -> None:
    # The suite connects as the superuser that ran the migrations.
    (warning,) = check_database_role()
    assert warning.id == "checkpoint.W004"
    assert "could disable the audit triggers" in warning.msg


def test_flush_without_a_prompt_empties_the_trail_as_a_superuser(decided: Decision) -> None:
    _execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists() and not Decision.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)  # the triggers are back on


def test_flush_is_refused_to_anyone_else(decided: Decision, granted_all: str) -> None:
    _execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(CommandError, match="flush needs a superuser") as caught,
        transaction.atomic(),
    ):
        call_command("flush", interactive=False, verbosity=0)
    assert "\n" not in str(caught.value)
    assert Decision.objects.filter(pk=decided.pk).exists()
