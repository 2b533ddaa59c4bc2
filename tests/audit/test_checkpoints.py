"""Signed checkpoints of the audit chain, exported outside the database, and
`verify_audit --checkpoints DIR` / `--expect-head HASH` (docs/security.md "The audit trail").

The acceptance case: whoever owns the database edits a decision, recomputes every hash after
it and moves the head. Plain `verify_audit` cannot tell; the checkpoint signed before the edit
can.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from approvals.audit.chain import compute_entry_hash, decision_fingerprint
from approvals.audit.checkpoints import export_checkpoint, read_checkpoints, sign_head
from approvals.audit.sealing import sealed_head
from approvals.models import ApprovalRequest, AuditEntry, Decision
from approvals.services import approval_decide
from approvals.tasks import export_audit_checkpoint
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db

KEY = b"k" * 40
OLD_KEY = b"o" * 40


@pytest.fixture
def checkpoints_dir(settings: Any, tmp_path: Path) -> Path:
    directory = tmp_path / "checkpoints"
    settings.AUDIT_SIGNING_KEY_ID = "2026-12"
    settings.AUDIT_VERIFY_KEYS = {"2026-12": KEY}
    settings.AUDIT_CHECKPOINT_URL = directory.as_uri()
    return directory


def _run(name: str, *args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(name, *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def _rewrite_decision_by_hand(
    decision: Decision, comment: str, raw_sql: Callable[..., None]
) -> None:
    """What a database owner could do: triggers off, edit the decision, recompute every hash
    from its entry on with the project's own (public) hash function, and move the head."""
    raw_sql("UPDATE approvals_decision SET comment = %s WHERE id = %s", [comment, decision.pk])
    start = AuditEntry.objects.get(decision=decision)
    prev = start.prev_hash
    for entry in AuditEntry.objects.filter(seq__gte=start.seq).order_by("seq"):
        data = dict(entry.data)
        if entry.decision_id is not None:
            data["decision"] = decision_fingerprint(Decision.objects.get(pk=entry.decision_id))
        assert entry.seq is not None
        new_hash = compute_entry_hash(
            prev_hash=prev,
            seq=entry.seq,
            at=entry.at,
            action=entry.action,
            actor=entry.actor,
            approval_id=str(entry.approval_id) if entry.approval_id else None,
            decision_id=entry.decision_id,
            data=data,
        )
        raw_sql(
            "UPDATE approvals_auditentry SET data = %s, prev_hash = %s, entry_hash = %s "
            "WHERE id = %s",
            [json.dumps(data), prev, new_hash, entry.pk],
        )
        if entry.decision_id is not None:
            raw_sql(
                "UPDATE approvals_decision SET entry_hash = %s WHERE id = %s",
                [new_hash, entry.decision_id],
            )
        prev = new_hash
    raw_sql("UPDATE approvals_auditchainhead SET last_hash = %s WHERE id = 1", [prev])


def test_an_export_writes_one_signed_checkpoint_per_head_position(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest]
) -> None:
    exported = export_checkpoint()

    assert exported is not None and exported.new
    head = sealed_head()
    stored = json.loads(exported.path.read_text())
    assert stored["seq"] == head.seq and stored["head"] == head.hash
    assert stored["key_id"] == "2026-12" and stored["alg"] == "HMAC-SHA256"
    assert stored["at"].endswith("Z") and len(stored["signature"]) == 64
    assert exported.path == checkpoints_dir / f"checkpoint-{head.seq:012d}.json"
    # Nothing new sealed: the same file stays, unchanged.
    again = export_checkpoint()
    assert again is not None and not again.new and again.path == exported.path
    assert [c.seq for c in read_checkpoints(checkpoints_dir)] == [head.seq]


def test_the_command_and_the_beat_task_export(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest], reviewer: Any, submit: Any
) -> None:
    code, output = _run("audit_checkpoint")
    assert code == 0
    assert output.startswith(f"Signed checkpoint #{sealed_head().seq} (head ")
    approval_decide(approval=submit(), reviewer=reviewer, option="approve", comment="ok")

    assert export_audit_checkpoint() == sealed_head().seq
    assert len(read_checkpoints(checkpoints_dir)) == 2
    schedule = celery_app.conf.beat_schedule["export-audit-checkpoint"]
    assert schedule["task"] == "approvals.tasks.export_audit_checkpoint"
    assert schedule["schedule"] == 600.0


def test_without_a_key_nothing_is_signed(
    checkpoints_dir: Path, settings: Any, decided_history: list[ApprovalRequest]
) -> None:
    settings.AUDIT_SIGNING_KEY_ID = ""
    code, message = _run("audit_checkpoint")
    assert code == 1
    assert (
        message
        == "No checkpoint written: AUDIT_SIGNING_KEY is not set: checkpoints cannot be signed"
    )
    assert export_audit_checkpoint() == 0
    assert not checkpoints_dir.exists()


def test_verify_passes_when_the_chain_reaches_every_checkpoint(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest], reviewer: Any, submit: Any
) -> None:
    export_checkpoint()
    approval_decide(approval=submit(), reviewer=reviewer, option="approve", comment="ok")
    export_checkpoint()
    approval_decide(approval=submit(), reviewer=reviewer, option="reject", comment="no")

    code, output = _run("verify_audit", "--checkpoints", str(checkpoints_dir))

    assert code == 0, output
    assert "; reaches 2 signed checkpoints (latest #" in output


def test_a_chain_recomputed_by_hand_passes_plain_verify_but_not_the_checkpoints(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest], raw_sql: Callable[..., None]
) -> None:
    export_checkpoint()
    decision = Decision.objects.get(approval=decided_history[1])
    entry = AuditEntry.objects.get(decision=decision)

    _rewrite_decision_by_hand(decision, "approved without reading", raw_sql)

    assert _run("verify_audit")[0] == 0  # the rewrite is internally consistent
    code, message = _run("verify_audit", "--checkpoints", str(checkpoints_dir))
    assert code == 1
    head_seq = sealed_head().seq
    assert message.startswith(f"Audit chain broken at entry #{head_seq} ")
    assert f"the chain no longer reaches the signed checkpoint at #{head_seq}" in message
    assert "\n" not in message
    assert entry.seq is not None and entry.seq <= head_seq
    # The exporter will not bless the rewritten head either.
    code, message = _run("audit_checkpoint")
    assert code == 1
    assert f"the chain no longer reaches signed checkpoint #{head_seq}" in message


def test_a_rewound_chain_falls_short_of_its_checkpoint(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest], raw_sql: Callable[..., None]
) -> None:
    export_checkpoint()
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None and last.seq is not None and last.decision_id is None
    before = AuditEntry.objects.get(seq=last.seq - 1)
    raw_sql("DELETE FROM approvals_auditentry WHERE id = %s", [last.pk])
    raw_sql(
        "UPDATE approvals_auditchainhead SET seq = %s, last_hash = %s WHERE id = 1",
        [before.seq, before.entry_hash],
    )

    assert _run("verify_audit")[0] == 0
    code, message = _run("verify_audit", "--checkpoints", str(checkpoints_dir))
    assert code == 1
    assert message == (
        f"Audit chain broken at signed checkpoint #{last.seq}: the chain ends at "
        f"#{before.seq}, short of it: entries were removed or the chain was rewound"
    )


def _edit_checkpoint(directory: Path, **changes: Any) -> None:
    path = sorted(directory.glob("checkpoint-*.json"))[-1]
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_a_forged_checkpoint_is_refused(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest]
) -> None:
    export_checkpoint()
    _edit_checkpoint(checkpoints_dir, head="a" * 64)
    code, message = _run("verify_audit", "--checkpoints", str(checkpoints_dir))
    assert code == 1
    assert message == (
        f"Audit checkpoints refused: checkpoint #{sealed_head().seq} has an invalid signature "
        "(key '2026-12')"
    )


def test_a_retired_key_still_verifies_and_an_unknown_one_does_not(
    checkpoints_dir: Path, settings: Any, decided_history: list[ApprovalRequest]
) -> None:
    settings.AUDIT_SIGNING_KEY_ID = "2026-06"
    settings.AUDIT_VERIFY_KEYS = {"2026-06": OLD_KEY}
    export_checkpoint()
    # Rotated: a new current key, the old one kept for verification.
    settings.AUDIT_SIGNING_KEY_ID = "2026-12"
    settings.AUDIT_VERIFY_KEYS = {"2026-06": OLD_KEY, "2026-12": KEY}
    assert _run("verify_audit", "--checkpoints", str(checkpoints_dir))[0] == 0

    settings.AUDIT_VERIFY_KEYS = {"2026-12": KEY}
    code, message = _run("verify_audit", "--checkpoints", str(checkpoints_dir))
    assert code == 1
    assert "is signed with key '2026-06', which is neither AUDIT_SIGNING_KEY nor in" in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "is not a checkpoint: Expecting value"),
        ('{"seq": 1}', "is not a checkpoint: expected the fields"),
    ],
)
def test_a_malformed_checkpoint_file_is_refused(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest], content: str, problem: str
) -> None:
    export_checkpoint()
    (checkpoints_dir / "checkpoint-999999999999.json").write_text(content)
    code, message = _run("verify_audit", "--checkpoints", str(checkpoints_dir))
    assert code == 1
    assert f"checkpoint-999999999999.json {problem}" in message


def test_an_empty_or_missing_directory_is_not_a_pass(
    checkpoints_dir: Path, decided_history: list[ApprovalRequest], tmp_path: Path
) -> None:
    code, message = _run("verify_audit", "--checkpoints", str(tmp_path))
    assert (code, message) == (1, f"Audit checkpoints refused: no signed checkpoints in {tmp_path}")
    code, message = _run("verify_audit", "--checkpoints", str(tmp_path / "nowhere"))
    assert code == 1 and "is not a directory of checkpoints" in message


def test_expect_head(decided_history: list[ApprovalRequest], submit: Any) -> None:
    head = sealed_head()
    assert _run("verify_audit", "--expect-head", head.hash)[0] == 0
    assert _run("verify_audit", "--expect-head", head.hash.upper())[0] == 0

    submit()
    code, message = _run("verify_audit", "--expect-head", head.hash)
    assert code == 1
    now = sealed_head()
    assert message == (
        f"Audit chain broken at the head: it is #{now.seq} {now.hash}, expected {head.hash}"
    )


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0" * 63])
def test_expect_head_refuses_what_is_not_a_hash(db: Any, bad: str) -> None:
    with pytest.raises(CommandError, match="is not a SHA-256 hash"):
        call_command("verify_audit", "--expect-head", bad)


def test_a_signature_covers_every_field(settings: Any) -> None:
    settings.AUDIT_SIGNING_KEY_ID = "k"
    settings.AUDIT_VERIFY_KEYS = {"k": KEY}
    one = sign_head(5, "a" * 64)
    assert sign_head(5, "b" * 64).signature != one.signature
    assert sign_head(6, "a" * 64).signature != one.signature
