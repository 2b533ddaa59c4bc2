"""approvals.routing: pure rule evaluation, tested with plain values and Hypothesis.

The promise: any condition on any JSON value gives a route, or (when a manager saves it) a clear
validation error, never an exception; a payload that cannot answer a rule goes to a human with
the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals import routing
from approvals.routing import (
    CannotEvaluate,
    ConditionError,
    RouteResult,
    RuleSpec,
    StageSpec,
    evaluate,
    policy_problems,
    route,
    select_stages,
    validate_condition,
)

SUPPORT = StageSpec(position=1, group_id=1, group="support-leads")
FINANCE = StageSpec(
    position=2,
    group_id=2,
    group="finance",
    condition={"field": "amount", "op": "gt", "value": 1000},
)


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return (
        {"field": field, "op": op}
        if value is None and op == "exists"
        else {"field": field, "op": op, "value": value}
    )


def rule(condition: Any, action: str = "approve", name: str = "r") -> RuleSpec:
    return RuleSpec(name=name, condition=condition, action=action)


# --- operators, with plain values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("lt", 50, 49.99, True),
        ("lt", 50, 50, False),
        ("lte", 50, 50, True),
        ("lte", 50, 50.01, False),
        ("gt", 20, 20, False),
        ("gt", 20, 20.5, True),
        ("gte", 20, 20, True),
        ("gte", 20, 19, False),
        ("lt", "m", "apple", True),  # strings order with strings
        ("eq", 1, 1.0, True),  # one number type
        ("eq", 1, True, False),  # but booleans are not numbers
        ("eq", "1", 1, False),
        ("eq", [], [], True),
        ("eq", {"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2}]}, True),
        ("eq", {"a": 1}, {"a": 1, "b": 2}, False),
        ("ne", "gold", "silver", True),
        ("ne", None, None, False),
        ("in", ["gold", "platinum"], "gold", True),
        ("in", [1, 2], 3, False),
        ("not_in", ["gold"], "silver", True),
        ("not_in", [False], 0, True),
        ("contains", "urgent", "this is urgent", True),
        ("contains", "x", [1, "x"], True),
        ("contains", 2, [1, 2.0], True),
        ("contains", "key", {"key": 1}, True),
        ("contains", "nope", {"key": 1}, False),
    ],
)
def test_each_operator_compares_as_json_does(
    op: str, value: Any, actual: Any, expected: bool
) -> None:
    assert evaluate(leaf("x", op, value), {"x": actual}) is expected


@pytest.mark.parametrize(
    ("payload", "exists", "expected"),
    [({"x": None}, True, True), ({}, True, False), ({}, False, True), ({"x": 0}, False, False)],
)
def test_exists_checks_presence_not_truth(
    payload: dict[str, Any], exists: bool, expected: bool
) -> None:
    assert evaluate({"field": "x", "op": "exists", "value": exists}, payload) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("customer.tier", "gold"),
        ("payload.customer.tier", "gold"),
        ("lines.1.sku", "B"),
        ("lines.2.sku", routing._MISSING),
        ("lines.x", routing._MISSING),
        ("lines.²", routing._MISSING),  # "²".isdigit() is true, but it is not an index
        ("customer.tier.deeper", routing._MISSING),
    ],
)
def test_paths_reach_into_objects_and_lists(path: str, expected: Any) -> None:
    payload = {"customer": {"tier": "gold"}, "lines": [{"sku": "A"}, {"sku": "B"}]}

    found = routing.resolve_path(payload, path)

    assert found is expected if expected is routing._MISSING else found == expected


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({}, "payload.x is missing"),
        ({"x": "12"}, "payload.x is a string, not comparable with a number"),
        ({"x": True}, "payload.x is a boolean, not comparable with a number"),
        ({"x": None}, "payload.x is null, not comparable with a number"),
    ],
)
def test_a_payload_that_cannot_answer_raises_cannot_evaluate(
    payload: dict[str, Any], why: str
) -> None:
    with pytest.raises(CannotEvaluate, match=why):
        evaluate(leaf("x", "lt", 50), payload)


def test_contains_on_a_number_cannot_be_answered() -> None:
    with pytest.raises(CannotEvaluate, match="not a list or a string"):
        evaluate(leaf("x", "contains", "a"), {"x": 3})


# --- combinators: three-valued all / any, not ---------------------------------------------------


def test_any_is_true_when_one_branch_is_true_even_if_another_cannot_be_answered() -> None:
    condition = {"any": [leaf("missing", "lt", 1), leaf("x", "eq", 1)]}

    assert evaluate(condition, {"x": 1}) is True


def test_all_is_false_when_one_branch_is_false_even_if_another_cannot_be_answered() -> None:
    condition = {"all": [leaf("missing", "lt", 1), leaf("x", "eq", 2)]}

    assert evaluate(condition, {"x": 1}) is False


def test_all_and_any_cannot_be_answered_when_the_unknown_branch_decides() -> None:
    with pytest.raises(CannotEvaluate):
        evaluate({"all": [leaf("missing", "lt", 1), leaf("x", "eq", 1)]}, {"x": 1})
    with pytest.raises(CannotEvaluate):
        evaluate({"any": [leaf("missing", "lt", 1), leaf("x", "eq", 2)]}, {"x": 1})


def test_not_negates() -> None:
    assert evaluate({"not": leaf("x", "eq", 1)}, {"x": 2}) is True


# --- route: first match wins; anything unclear goes to a human ----------------------------------


def test_the_first_matching_rule_wins() -> None:
    rules = [
        rule(leaf("amount", "gt", 10_000), "reject", "huge"),
        rule(leaf("amount", "lt", 50), "approve", "small"),
        rule(leaf("amount", "lt", 100), "reject", "never reached for 10"),
    ]

    result = route(rules, [SUPPORT], {"amount": 10})

    assert result == RouteResult(
        action="approve", rule="small", reason="Auto-approved by rule 'small'."
    )
    assert route(rules, [SUPPORT], {"amount": 20_000}).action == "reject"


def test_an_unnamed_rule_is_named_by_its_place() -> None:
    rules = [rule(leaf("a", "exists"), name="first"), rule(leaf("b", "exists"), name="  ")]

    assert route(rules, [SUPPORT], {"b": 1}).rule == "#2"


def test_no_match_is_human_with_the_stages_that_apply() -> None:
    result = route([rule(leaf("amount", "lt", 50))], [SUPPORT, FINANCE], {"amount": 5000})

    assert result.action == "human" and result.rule == ""
    assert result.reason == "No rule matched; sent to a human."
    assert [s.group for s in result.stages] == ["support-leads", "finance"]
    assert [s.group for s in route([], [SUPPORT, FINANCE], {"amount": 1000}).stages] == [
        "support-leads"
    ]


def test_a_rule_may_send_to_a_human_explicitly() -> None:
    result = route([rule(leaf("vip", "eq", True), "human", "vip")], [SUPPORT], {"vip": True})

    assert (result.action, result.rule) == ("human", "vip")
    assert result.stages == [SUPPORT]


def test_a_missing_field_goes_to_a_human_and_the_route_says_why() -> None:
    result = route([rule(leaf("amount", "lt", 50), name="small")], [SUPPORT], {"currency": "USD"})

    assert result.action == "human" and result.rule == "small"
    assert (
        result.reason
        == "Rule 'small' could not be evaluated (payload.amount is missing); sent to a human."
    )
    assert result.stages == [SUPPORT]


def test_a_field_of_another_type_goes_to_a_human() -> None:
    result = route([rule(leaf("amount", "lt", 50))], [SUPPORT], {"amount": "49"})

    assert result.action == "human"
    assert "payload.amount is a string" in result.reason


@pytest.mark.parametrize(
    "bad",
    [
        rule({"field": "amount", "op": "less than", "value": 50}),
        rule({"field": "amount", "op": "lt"}),
        rule({"all": []}),
        rule("amount < 50"),
        rule(leaf("amount", "lt", 50), action="approve please"),
        rule(leaf("amount", "lt", 50), action=["approve"]),  # type: ignore[arg-type]
    ],
)
def test_a_malformed_rule_goes_to_a_human_and_never_raises(bad: RuleSpec) -> None:
    result = route([bad, rule(leaf("amount", "lt", 1_000_000))], [SUPPORT], {"amount": 1})

    assert result.action == "human"
    assert "is malformed" in result.reason


def test_a_stage_whose_condition_cannot_be_answered_runs() -> None:
    assert select_stages([SUPPORT, FINANCE], {}) == [SUPPORT, FINANCE]
    broken = StageSpec(position=2, group_id=2, group="finance", condition={"op": "??"})
    assert select_stages([SUPPORT, broken], {}) == [SUPPORT, broken]


def test_a_request_always_gets_at_least_the_first_stage() -> None:
    only_big = StageSpec(position=1, group_id=1, group="x", condition=leaf("amount", "gt", 10))

    assert select_stages([only_big], {"amount": 1}) == [only_big]
    assert select_stages([], {"amount": 1}) == []


# --- validation, for the admin and the installer -------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ([], "must be an object"),
        ({"field": "amount", "op": "lt"}, "'lt' needs a 'value'"),
        ({"field": "amount", "op": ["lt"], "value": 1}, "'op' must be one of"),
        ({"field": "amount", "op": "lt", "value": [1]}, "compares with a number or a string"),
        ({"field": "amount", "op": "in", "value": 1}, "takes a list"),
        ({"field": "amount", "op": "exists", "value": "yes"}, "takes true or false"),
        ({"field": "", "op": "exists"}, "dotted payload path"),
        ({"field": "a..b", "op": "exists"}, "dotted payload path"),
        ({"field": "a", "op": "eq", "value": 1, "extra": 1}, "unknown keys: extra"),
        ({"all": [], "any": []}, "must be the only key"),
        ({"any": "x"}, "non-empty list"),
        ({"field": "a", "op": "lt", "value": float("nan")}, "finite"),
    ],
)
def test_validate_condition_names_the_mistake(condition: Any, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        validate_condition(condition)


def test_conditions_may_not_nest_without_end() -> None:
    condition: Any = leaf("x", "exists")
    for _ in range(routing.MAX_DEPTH + 2):
        condition = {"not": condition}

    with pytest.raises(ConditionError, match="nest at most"):
        validate_condition(condition)


def test_policy_problems_lists_every_problem_with_its_place() -> None:
    problems = policy_problems(
        [
            rule(leaf("a", "lt", 1), name="fine"),
            rule({"op": "lt"}, name="typo"),
            rule(leaf("a", "exists"), "maybe"),
        ],
        [SUPPORT, StageSpec(position=2, group_id=2, group="finance", condition={"any": []})],
    )

    assert problems == [
        "Rule 2 ('typo'): 'field' must be a dotted payload path such as 'amount'",
        "Rule 3 ('r'): 'action' must be one of approve, human, reject",
        "Stage 2 ('finance'): 'any' takes a non-empty list of conditions",
    ]
    assert policy_problems([rule(leaf("a", "lt", 1))], [SUPPORT]) == []
    assert policy_problems([], []) == [
        "The policy has no stage: a request sent to a human would have no group."
    ]


def test_huge_numbers_and_deep_values_do_not_crash() -> None:
    huge = 10**400
    validate_condition(leaf("x", "lt", huge))
    assert evaluate(leaf("x", "lt", huge), {"x": 1.5}) is True
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert evaluate(leaf("x", "eq", deep), {"x": deep}) is True


# --- Hypothesis: never an exception, whatever the input -------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
paths = st.sampled_from(["x", "y", "x.y", "payload.x", "x.0", "lines.1.sku", "²", "x.²"]) | st.text(
    max_size=10
)
payloads = st.dictionaries(
    st.sampled_from(["x", "y", "lines", "z"]) | st.text(max_size=4), json_values, max_size=5
)


def leaves() -> st.SearchStrategy[dict[str, Any]]:
    """Leaves of any shape: most of them malformed."""
    return st.builds(
        lambda field, op, value, with_value: {
            "field": field,
            "op": op,
            **({"value": value} if with_value else {}),
        },
        paths,
        st.sampled_from(sorted(routing.OPERATORS)) | st.text(max_size=5),
        json_values,
        st.booleans(),
    )


numbers = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
VALUES_FOR_OP = {
    **{op: numbers | st.text(max_size=4) for op in routing.ORDER_OPS},
    "in": st.lists(json_values, max_size=3),
    "not_in": st.lists(json_values, max_size=3),
    "exists": st.booleans(),
    "eq": json_values,
    "ne": json_values,
    "contains": json_values,
}
well_formed_leaves = st.sampled_from(sorted(VALUES_FOR_OP)).flatmap(
    lambda op: st.builds(
        lambda field, value: {"field": field, "op": op, "value": value},
        paths.filter(bool),
        VALUES_FOR_OP[op],
    )
)
well_formed = st.recursive(
    well_formed_leaves,
    lambda inner: (
        st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda item: {"not": item}, inner)
    ),
    max_leaves=8,
)
malformed = st.recursive(
    leaves() | json_values,
    lambda inner: (
        st.builds(lambda items: {"all": items}, st.lists(inner, max_size=3))
        | st.builds(lambda items: {"any": items}, st.lists(inner, max_size=3))
        | st.builds(lambda item: {"not": item}, inner)
        | st.dictionaries(
            st.sampled_from(["all", "any", "not", "field", "op", "value"]), inner, max_size=3
        )
    ),
    max_leaves=10,
)
# Half well formed (to exercise evaluation), half anything (to exercise validation).
conditions = well_formed | malformed
actions = st.sampled_from(["approve", "reject", "human"]) | json_values
stages = st.lists(
    st.builds(
        StageSpec,
        position=st.integers(1, 5),
        group_id=st.integers(1, 5),
        group=st.sampled_from(["a", "b"]),
        condition=st.none() | conditions,
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(condition=conditions | json_values)
def test_validate_condition_returns_or_raises_condition_error(condition: Any) -> None:
    try:
        validate_condition(condition)
    except ConditionError as exc:
        assert str(exc)


@settings(max_examples=300, deadline=None)
@given(condition=conditions, payload=payloads | json_values)
def test_evaluate_returns_a_boolean_or_says_why_not(condition: Any, payload: Any) -> None:
    valid = True
    try:
        validate_condition(condition)
    except ConditionError:
        valid = False
    try:
        result = evaluate(condition, payload)
    except CannotEvaluate as exc:
        assert valid and str(exc)
    except ConditionError:
        assert not valid
    else:
        assert valid and isinstance(result, bool)


@settings(max_examples=150, deadline=None)
@given(
    rules=st.lists(
        st.builds(RuleSpec, name=st.text(max_size=5), condition=conditions, action=actions),
        max_size=4,
    ),
    stage_list=stages,
    payload=payloads | json_values,
)
def test_route_always_returns_a_route(
    rules: list[RuleSpec], stage_list: list[StageSpec], payload: Any
) -> None:
    result = route(rules, stage_list, payload)

    assert result.action in routing.ACTIONS and result.reason
    if result.is_auto:
        assert result.stages == [] and result.rule
    elif stage_list:
        assert result.stages and all(stage in stage_list for stage in result.stages)


@settings(max_examples=200, deadline=None)
@given(value=json_values, other=json_values)
def test_eq_ne_and_in_agree(value: Any, other: Any) -> None:
    payload = {"x": value}

    assert evaluate(leaf("x", "eq", value), payload) is True
    assert evaluate(leaf("x", "ne", value), payload) is False
    same = evaluate(leaf("x", "eq", other), payload)
    assert evaluate(leaf("x", "in", [other]), payload) is same
    assert evaluate(leaf("x", "not_in", [other]), payload) is not same
    assert evaluate({"not": leaf("x", "eq", other)}, payload) is not same


@settings(max_examples=200, deadline=None)
@given(
    first=st.booleans(),
    amount=st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
    threshold=st.integers(-100, 100),
)
def test_the_first_match_wins_and_later_rules_only_see_the_rest(
    first: bool, amount: Any, threshold: int
) -> None:
    rules = [
        rule(leaf("flag", "eq", True), "reject", "flagged"),
        rule(leaf("amount", "lt", threshold), "approve", "small"),
    ]

    result = route(rules, [SUPPORT], {"flag": first, "amount": amount})

    if first:
        assert (result.action, result.rule) == ("reject", "flagged")
    elif amount < threshold:
        assert (result.action, result.rule) == ("approve", "small")
    else:
        assert result.action == "human" and result.stages == [SUPPORT]


def test_a_resubmission_goes_to_a_person_whatever_the_rules_say() -> None:
    rules = [
        routing.RuleSpec(
            name="small", condition={"field": "amount", "op": "lt", "value": 50}, action="approve"
        ),
    ]
    stages = [routing.StageSpec(position=1, group_id=1, group="support")]
    assert routing.route(rules, stages, {"amount": 10}).action == "approve"
    again = routing.route(rules, stages, {"amount": 10}, resubmission=True)
    assert again.action == "human" and again.rule == ""
    assert "rule 'small' would have approved it" in again.reason
    assert [stage.group for stage in again.stages] == ["support"]
