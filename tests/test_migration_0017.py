"""Migration 0012 (scoped tokens): what existed before moves into the caller "legacy", keeps
every scope, and duplicate token names are told apart before names become unique."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("approvals", "0016_search")]
AFTER = [("approvals", "0017_token_scopes")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_tokens_and_requests_become_the_legacy_caller() -> None:
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("approvals")
    old = _migrate(BEFORE)
    try:
        Token = old.get_model("approvals", "ApiToken")
        for n in range(3):
            Token.objects.create(name="zendesk", prefix=f"cpk_{n}", token_hash=f"{n:064d}")
        policy = old.get_model("approvals", "Policy").objects.create(slug="p", name="P")
        old.get_model("approvals", "ApprovalRequest").objects.create(
            policy=policy,
            policy_version=1,
            title="t",
            payload={},
            submitted_payload={},
            route="human",
        )
        new = _migrate(AFTER)
        tokens = list(new.get_model("approvals", "ApiToken").objects.order_by("pk"))
        assert [t.name for t in tokens] == [
            "zendesk",
            f"zendesk (id {tokens[1].pk})",
            f"zendesk (id {tokens[2].pk})",
        ]
        assert {t.caller for t in tokens} == {"legacy"}
        assert all(t.scopes == ["create", "read", "cancel"] and t.policy_ids == [] for t in tokens)
        request = new.get_model("approvals", "ApprovalRequest").objects.get()
        assert request.caller == "legacy" and request.requester_id is None
    finally:
        _migrate(latest)
