"""Policy routing as pure code: a policy's rules and a payload in, a route out.

No ORM, no `eval`: a condition is data that a manager types in the admin, and nothing in it can
run code. Grammar:

    leaf:      {"field": "amount", "op": "lt", "value": 50}
    combine:   {"all": [cond, …]}   {"any": [cond, …]}   {"not": cond}

`field` is a dotted path into the payload ("customer.tier", "lines.0.sku"); a leading
"payload." is accepted. Operators: lt lte gt gte eq ne in not_in contains exists.

Values compare as JSON does: 1 == 1.0, but true is not 1 and "1" is not 1. Ordering (lt, lte,
gt, gte) compares numbers with numbers and strings with strings; anything else cannot be
answered.

The first rule that matches wins; no match means a human decides. A rule that cannot be
evaluated (its field is missing, or holds a value of another type) or that is malformed never
raises: the request goes to a human, and the route says why. `all` and `any` use three-valued
logic, so a branch that cannot be answered does not matter when another branch settles the
result (`any` with one true branch is true; `all` with one false branch is false).

Every function here accepts any JSON value for any argument and either returns or raises
`ConditionError` (the condition is wrong) or `CannotEvaluate` (the payload cannot answer it);
`route` raises nothing at all.

Standing approvals ("approve and remember", docs/agents.md) are passed in as plain values too.
They are looked at only when the rules chose a person: an active one whose every condition
equals the payload's value at that path approves the request. They never override an
auto-approve or auto-reject rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Action = Literal["approve", "reject", "human"]

ORDER_OPS = frozenset({"lt", "lte", "gt", "gte"})
OPERATORS = frozenset({"lt", "lte", "gt", "gte", "eq", "ne", "in", "not_in", "contains", "exists"})
ACTIONS = frozenset({"approve", "reject", "human"})
COMBINATORS = ("all", "any", "not")
MAX_DEPTH = 16
MAX_PATH_LENGTH = 255


class ConditionError(ValueError):
    """The condition itself is malformed (a manager's typo): reported at save time."""


class CannotEvaluate(Exception):
    """The condition is well formed but this payload cannot answer it."""


@dataclass(frozen=True)
class RuleSpec:
    name: str
    condition: Any
    action: str


@dataclass(frozen=True)
class StageSpec:
    position: int
    group_id: int | None
    group: str
    quorum: str = "one"
    quorum_count: int = 1
    condition: Any = None


@dataclass(frozen=True)
class StandingSpec:
    """An active standing approval: equality `conditions` on payload paths, until `ends_at`."""

    id: int
    conditions: Mapping[str, Any]
    author: str
    ends_at: datetime
    revoked: bool = False


@dataclass(frozen=True)
class RouteResult:
    action: Action
    rule: str = ""
    reason: str = ""
    stages: list[StageSpec] = field(default_factory=list)
    standing_approval: int | None = None

    @property
    def is_auto(self) -> bool:
        return self.action != "human"


_MISSING = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strip_prefix(path: str) -> str:
    return path[len("payload.") :] if path.startswith("payload.") else path


def resolve_path(payload: Any, path: str) -> Any:
    """The value at a dotted path, or _MISSING. List items are addressed by ASCII digits."""
    current = payload
    for part in _strip_prefix(path).split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return _MISSING
            current = current[part]
        # str.isdigit() is true for "²" too, which int() refuses: insist on ASCII digits.
        elif isinstance(current, list) and part.isascii() and part.isdigit():
            index = int(part)
            if index >= len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def _json_equal(left: Any, right: Any) -> bool:
    """JSON equality: one number type (1 == 1.0) but a separate boolean (true != 1).

    Iterative, so a deeply nested value cannot exhaust the interpreter's stack.
    """
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if isinstance(a, bool) or isinstance(b, bool):
            if not (isinstance(a, bool) and isinstance(b, bool) and a == b):
                return False
        elif _is_number(a) and _is_number(b):
            if a != b:
                return False
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif isinstance(a, Mapping) and isinstance(b, Mapping):
            if a.keys() != b.keys():
                return False
            pending.extend((a[key], b[key]) for key in a)
        elif type(a) is not type(b) or a != b:
            return False
    return True


def condition_problem(condition: Any) -> str | None:
    """What a manager is told about a malformed condition ("Invalid condition: …"), or None.

    The one check behind the admin's rule and stage forms, the what-if and
    `policy_update_rule`: a typo in a rule would send every request to a human, so it is
    refused when saved.
    """
    try:
        validate_condition(condition)
    except ConditionError as exc:
        return f"Invalid condition: {exc}"
    return None


def validate_condition(condition: Any, depth: int = 0) -> None:
    """Raise ConditionError naming what is wrong with a condition, or return None."""
    if depth > MAX_DEPTH:
        raise ConditionError(f"conditions may nest at most {MAX_DEPTH} levels")
    if not isinstance(condition, Mapping):
        raise ConditionError("a condition must be an object")
    combinators = [key for key in COMBINATORS if key in condition]
    if combinators:
        key = combinators[0]
        if len(condition) != 1:
            raise ConditionError(f"'{key}' must be the only key of its object")
        inner = condition[key]
        if key == "not":
            validate_condition(inner, depth + 1)
            return
        if not isinstance(inner, list) or not inner:
            raise ConditionError(f"'{key}' takes a non-empty list of conditions")
        for item in inner:
            validate_condition(item, depth + 1)
        return
    unknown = set(condition) - {"field", "op", "value"}
    if unknown:
        raise ConditionError(f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    path = condition.get("field")
    if (
        not isinstance(path, str)
        or not path
        or len(path) > MAX_PATH_LENGTH
        or any(not part for part in _strip_prefix(path).split("."))
    ):
        raise ConditionError("'field' must be a dotted payload path such as 'amount'")
    op = condition.get("op")
    # isinstance first: an op that is a list or an object is not hashable.
    if not isinstance(op, str) or op not in OPERATORS:
        raise ConditionError(f"'op' must be one of {', '.join(sorted(OPERATORS))}")
    if op == "exists":
        if not isinstance(condition.get("value", True), bool):
            raise ConditionError("'exists' takes true or false")
        return
    if "value" not in condition:
        raise ConditionError(f"'{op}' needs a 'value'")
    value = condition["value"]
    if op in ORDER_OPS and not (_is_number(value) or isinstance(value, str)):
        raise ConditionError(f"'{op}' compares with a number or a string")
    # Only floats can be NaN or infinite; math.isfinite() on a huge int would overflow.
    if isinstance(value, float) and not math.isfinite(value):
        raise ConditionError("'value' must be a finite number")
    if op in {"in", "not_in"} and not isinstance(value, list):
        raise ConditionError(f"'{op}' takes a list of values")


def validate_action(action: Any) -> None:
    if not isinstance(action, str) or action not in ACTIONS:
        raise ConditionError(f"'action' must be one of {', '.join(sorted(ACTIONS))}")


def validate_rule(rule: RuleSpec) -> None:
    """What the admin and the installer check before saving a rule."""
    validate_action(rule.action)
    validate_condition(rule.condition)


def validate_stage_condition(condition: Any) -> None:
    """A stage condition may be empty (the stage always runs) or a condition."""
    if condition in (None, {}):
        return
    validate_condition(condition)


def policy_problems(rules: Sequence[RuleSpec], stages: Sequence[StageSpec]) -> list[str]:
    """Every problem in a policy's rules and stages, one readable line each; [] when sound."""
    problems: list[str] = []
    for number, rule in enumerate(rules, start=1):
        try:
            validate_rule(rule)
        except ConditionError as exc:
            problems.append(f"Rule {number} ({rule.name!r}): {exc}")
    for stage in stages:
        try:
            validate_stage_condition(stage.condition)
        except ConditionError as exc:
            problems.append(f"Stage {stage.position} ({stage.group!r}): {exc}")
    if not stages:
        problems.append("The policy has no stage: a request sent to a human would have no group.")
    return problems


def evaluate(condition: Any, payload: Any) -> bool:
    """True or False; ConditionError for a malformed condition; CannotEvaluate when the
    payload cannot answer it."""
    validate_condition(condition)
    return _evaluate(condition, payload)


def _evaluate(condition: Mapping[str, Any], payload: Any) -> bool:
    # The condition is valid here (evaluate() checked it), so every key lookup is safe.
    if "all" in condition or "any" in condition:
        wanted = "any" in condition
        items = condition["any"] if wanted else condition["all"]
        unknown: CannotEvaluate | None = None
        for item in items:
            try:
                if _evaluate(item, payload) is wanted:
                    return wanted
            except CannotEvaluate as exc:
                unknown = unknown or exc
        if unknown is not None:
            raise unknown
        return not wanted
    if "not" in condition:
        return not _evaluate(condition["not"], payload)
    return _evaluate_leaf(condition, payload)


def _evaluate_leaf(condition: Mapping[str, Any], payload: Any) -> bool:
    path, op = condition["field"], condition["op"]
    shown = f"payload.{_strip_prefix(path)}"
    actual = resolve_path(payload, path)
    if op == "exists":
        return (actual is not _MISSING) == condition.get("value", True)
    if actual is _MISSING:
        raise CannotEvaluate(f"{shown} is missing")
    expected = condition["value"]

    if op == "eq":
        return _json_equal(actual, expected)
    if op == "ne":
        return not _json_equal(actual, expected)
    if op == "in":
        return any(_json_equal(actual, item) for item in expected)
    if op == "not_in":
        return not any(_json_equal(actual, item) for item in expected)
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected in actual
        if isinstance(actual, list):
            return any(_json_equal(item, expected) for item in actual)
        if isinstance(actual, Mapping) and isinstance(expected, str):
            return expected in actual
        raise CannotEvaluate(f"{shown} is {_type_name(actual)}, not a list or a string")
    # Ordering: numbers with numbers, strings with strings; anything else cannot be compared.
    comparable = (_is_number(actual) and _is_number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str)
    )
    if not comparable:
        raise CannotEvaluate(
            f"{shown} is {_type_name(actual)}, not comparable with {_type_name(expected)}"
        )
    if op == "lt":
        return bool(actual < expected)
    if op == "lte":
        return bool(actual <= expected)
    if op == "gt":
        return bool(actual > expected)
    return bool(actual >= expected)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def select_stages(stages: Sequence[StageSpec], payload: Any) -> list[StageSpec]:
    """The stages this payload runs through, in order. A stage whose condition cannot be
    answered, or is malformed, runs (the cautious choice); a request always gets at least the
    first stage."""
    chosen: list[StageSpec] = []
    for stage in stages:
        if stage.condition in (None, {}):
            chosen.append(stage)
            continue
        try:
            if evaluate(stage.condition, payload):
                chosen.append(stage)
        except (CannotEvaluate, ConditionError):
            chosen.append(stage)
    if not chosen and stages:
        chosen.append(stages[0])
    return chosen


def route(
    rules: Sequence[RuleSpec],
    stages: Sequence[StageSpec],
    payload: Any,
    *,
    standing: Sequence[StandingSpec] = (),
    at: datetime | None = None,
    resubmission: bool = False,
) -> RouteResult:
    """The first matching rule decides; no match, or a rule that cannot be answered, is human.

    A human route is then approved by the first standing approval active `at` that matches.
    A `resubmission` (the caller's answer to "request changes") always goes to a person: the
    reviewer who asked must see what changed, so neither a rule nor a standing approval
    decides it (docs/architecture.md "The request-changes loop").
    """
    result = _route_by_rules(rules, stages, payload)
    if resubmission:
        if result.action == "human":
            return result
        return RouteResult(
            action="human",
            reason=(
                f"A resubmission goes to a person (rule '{result.rule}' would have "
                f"{'approved' if result.action == 'approve' else 'rejected'} it)."
            ),
            stages=select_stages(stages, payload),
        )
    if result.action != "human" or not standing:
        return result
    moment = at or datetime.now(UTC)
    for spec in standing:
        if standing_matches(spec, payload, at=moment):
            return RouteResult(
                action="approve",
                rule=f"standing approval #{spec.id}",
                reason=standing_reason(spec),
                standing_approval=spec.id,
            )
    return result


def standing_matches(spec: StandingSpec, payload: Any, *, at: datetime) -> bool:
    """Active at `at`, and every condition equals the payload's value (JSON equality).

    No conditions never matches: a standing approval always names what it approves.
    """
    if spec.revoked or not (at < spec.ends_at):
        return False
    if not isinstance(spec.conditions, Mapping) or not spec.conditions:
        return False
    for path, expected in spec.conditions.items():
        if not isinstance(path, str) or not path:
            return False
        actual = resolve_path(payload, path)
        if actual is _MISSING or not _json_equal(actual, expected):
            return False
    return True


def standing_reason(spec: StandingSpec) -> str:
    ends = spec.ends_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Approved by standing approval #{spec.id} of {spec.author} "
        f"({describe_conditions(spec.conditions)}), active until {ends}."
    )


def describe_conditions(conditions: Mapping[str, Any]) -> str:
    """`tool_name = 'Bash'`, each value cut to 60 characters (a route reason is short)."""
    shown = []
    for path, value in sorted(conditions.items()):
        text = repr(value)
        shown.append(f"{path} = {text if len(text) <= 60 else text[:57] + '…'}")
    return ", ".join(shown)


def _route_by_rules(
    rules: Sequence[RuleSpec], stages: Sequence[StageSpec], payload: Any
) -> RouteResult:
    for number, rule in enumerate(rules, start=1):
        # The route names the rule behind it; an unnamed rule is named by its place.
        name = (
            rule.name.strip() if isinstance(rule.name, str) and rule.name.strip() else f"#{number}"
        )
        rule = RuleSpec(name=name, condition=rule.condition, action=rule.action)
        try:
            validate_action(rule.action)
            matched = evaluate(rule.condition, payload)
        except CannotEvaluate as exc:
            return _human(rule, stages, payload, f"could not be evaluated ({exc})")
        except ConditionError as exc:
            return _human(rule, stages, payload, f"is malformed ({exc})")
        if not matched:
            continue
        if rule.action == "human":
            return RouteResult(
                action="human",
                rule=rule.name,
                reason=f"Rule '{rule.name}' sends it to a human.",
                stages=select_stages(stages, payload),
            )
        action: Action = "approve" if rule.action == "approve" else "reject"
        verb = "approved" if action == "approve" else "rejected"
        return RouteResult(
            action=action, rule=rule.name, reason=f"Auto-{verb} by rule '{rule.name}'."
        )
    return RouteResult(
        action="human",
        reason="No rule matched; sent to a human.",
        stages=select_stages(stages, payload),
    )


def _human(rule: RuleSpec, stages: Sequence[StageSpec], payload: Any, why: str) -> RouteResult:
    return RouteResult(
        action="human",
        rule=rule.name,
        reason=f"Rule '{rule.name}' {why}; sent to a human.",
        stages=select_stages(stages, payload),
    )
