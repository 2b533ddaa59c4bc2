"""Standing approvals in the pure router (approvals/routing.py): plain values and Hypothesis.

The promises: a standing approval only ever turns a human route into an approval; it never
touches a rule's auto-approve or auto-reject; it matches exactly when it is active and every
condition equals the payload's value; any JSON in conditions or payload never raises.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from approvals.routing import RuleSpec, StageSpec, StandingSpec, route, standing_matches

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STAGES = [StageSpec(position=1, group_id=1, group="agent-supervisors")]
READ_ONLY = RuleSpec(
    name="Read-only tools pass",
    condition={"field": "tool_name", "op": "in", "value": ["Read", "Glob"]},
    action="approve",
)
NO_RM = RuleSpec(
    name="Never rm -rf",
    condition={"field": "input.command", "op": "contains", "value": "rm -rf"},
    action="reject",
)


def bash(
    until: datetime = NOW + timedelta(hours=1), extra: dict[str, Any] | None = None
) -> StandingSpec:
    return StandingSpec(
        id=7, conditions={"tool_name": "Bash", **(extra or {})}, author="alice", ends_at=until
    )


def test_a_matching_standing_approval_approves_a_human_route_and_says_whose_until_when() -> None:
    result = route(
        [READ_ONLY], STAGES, {"tool_name": "Bash", "input": {}}, standing=[bash()], at=NOW
    )

    assert result.action == "approve" and result.standing_approval == 7
    assert result.rule == "standing approval #7"
    assert result.reason == (
        "Approved by standing approval #7 of alice (tool_name = 'Bash'), "
        "active until 2026-12-01 13:00 UTC."
    )
    assert result.stages == []


def test_a_different_tool_still_goes_to_a_person() -> None:
    result = route(
        [READ_ONLY], STAGES, {"tool_name": "Write", "input": {}}, standing=[bash()], at=NOW
    )
    assert result.action == "human" and result.standing_approval is None


def test_an_ended_or_revoked_one_matches_nothing() -> None:
    payload = {"tool_name": "Bash", "input": {}}
    ended = route([], STAGES, payload, standing=[bash(until=NOW)], at=NOW)
    revoked = StandingSpec(
        id=7, conditions={"tool_name": "Bash"}, author="a", ends_at=NOW + timedelta(1), revoked=True
    )
    assert ended.action == "human"
    assert route([], STAGES, payload, standing=[revoked], at=NOW).action == "human"


def test_it_never_overrides_an_auto_reject_rule() -> None:
    payload = {"tool_name": "Bash", "input": {"command": "rm -rf /"}}
    result = route([NO_RM], STAGES, payload, standing=[bash()], at=NOW)
    assert result.action == "reject" and result.rule == "Never rm -rf"


def test_every_condition_must_hold_and_values_compare_as_json() -> None:
    spec = bash(extra={"input": {"command": "ls", "n": 1}})
    assert standing_matches(
        spec, {"tool_name": "Bash", "input": {"command": "ls", "n": 1.0}}, at=NOW
    )
    assert not standing_matches(
        spec, {"tool_name": "Bash", "input": {"command": "ls", "n": True}}, at=NOW
    )
    assert not standing_matches(spec, {"tool_name": "Bash"}, at=NOW)


def test_no_conditions_never_match() -> None:
    empty = StandingSpec(id=1, conditions={}, author="a", ends_at=NOW + timedelta(days=1))
    assert not standing_matches(empty, {"anything": 1}, at=NOW)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
names = st.sampled_from(["tool_name", "agent", "input", "x"])


@given(
    payload=st.dictionaries(names, json_values, max_size=4),
    conditions=st.dictionaries(names, json_values, max_size=3),
    offset=st.integers(min_value=-3, max_value=3),
    revoked=st.booleans(),
)
def test_matching_is_exactly_active_and_equal_on_every_condition(
    payload: dict[str, Any], conditions: dict[str, Any], offset: int, revoked: bool
) -> None:
    spec = StandingSpec(
        id=1,
        conditions=conditions,
        author="a",
        ends_at=NOW + timedelta(hours=offset),
        revoked=revoked,
    )
    from approvals.routing import _json_equal  # the router's own JSON equality

    expected = (
        bool(conditions)
        and not revoked
        and offset > 0
        and all(k in payload and _json_equal(payload[k], v) for k, v in conditions.items())
    )
    assert standing_matches(spec, payload, at=NOW) is expected


@given(
    payload=st.dictionaries(names, json_values, max_size=4),
    rule_action=st.sampled_from(["approve", "reject", "human"]),
    specs=st.lists(
        st.builds(
            StandingSpec,
            id=st.integers(1, 99),
            conditions=st.dictionaries(names, json_values, max_size=2) | json_values,
            author=st.text(max_size=5),
            ends_at=st.just(NOW + timedelta(hours=1)),
        ),
        max_size=3,
        unique_by=lambda spec: spec.id,  # ids are primary keys: the test finds one by its id
    ),
)
def test_a_rule_that_decides_is_never_changed_by_standing_approvals(
    payload: dict[str, Any], rule_action: str, specs: list[StandingSpec]
) -> None:
    rules = [RuleSpec(name="r", condition={"field": "x", "op": "exists"}, action=rule_action)]
    without = route(rules, STAGES, payload, at=NOW)
    with_standing = route(rules, STAGES, payload, standing=specs, at=NOW)

    if without.action != "human":
        assert with_standing == without
    elif with_standing != without:
        # Only ever human -> approve, by a standing approval that matches.
        assert with_standing.action == "approve"
        chosen = next(s for s in specs if s.id == with_standing.standing_approval)
        assert standing_matches(chosen, payload, at=NOW)
