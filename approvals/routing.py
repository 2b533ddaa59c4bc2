"""Policy routing as pure code: a policy's rules and a payload in, a route out (STYLE.md 8).

No ORM, no `eval`: a condition is data that a manager types in the admin, and nothing in it can
run code. Grammar:

    leaf:      {"field": "amount", "op": "lt", "value": 50}
    combine:   {"all": [cond, …]}   {"any": [cond, …]}   {"not": cond}

`field` is a dotted path into the payload ("customer.tier", "lines.0.sku"); a leading
"payload." is accepted. Operators: lt lte gt gte eq ne in not_in contains exists.

The first rule that matches wins; no match means a human decides. A rule that cannot be
evaluated (its field is missing, or holds a value of another type) never raises: the request
goes to a human, and the route says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["approve", "reject", "human"]

ORDER_OPS = frozenset({"lt", "lte", "gt", "gte"})
OPERATORS = frozenset({"lt", "lte", "gt", "gte", "eq", "ne", "in", "not_in", "contains", "exists"})
ACTIONS = frozenset({"approve", "reject", "human"})
MAX_DEPTH = 16


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
class RouteResult:
    action: Action
    rule: str = ""
    reason: str = ""
    stages: list[StageSpec] = field(default_factory=list)

    @property
    def is_auto(self) -> bool:
        return self.action != "human"


_MISSING = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def resolve_path(payload: Any, path: str) -> Any:
    """The value at a dotted path, or _MISSING."""
    if path.startswith("payload."):
        path = path[len("payload.") :]
    current = payload
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return _MISSING
            current = current[part]
        elif isinstance(current, list) and part.isdigit():
            index = int(part)
            if index >= len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def _json_equal(left: Any, right: Any) -> bool:
    # JSON has one number type but a separate boolean: 1 == 1.0, True != 1.
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def validate_condition(condition: Any, depth: int = 0) -> None:
    """Raise ConditionError naming what is wrong with a condition, or return None."""
    if depth > MAX_DEPTH:
        raise ConditionError(f"conditions may nest at most {MAX_DEPTH} levels")
    if not isinstance(condition, Mapping):
        raise ConditionError("a condition must be an object")
    combinators = [key for key in ("all", "any", "not") if key in condition]
    if combinators:
        if len(condition) != 1:
            raise ConditionError(f"'{combinators[0]}' must be the only key of its object")
        key = combinators[0]
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
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise ConditionError("'field' must be a dotted payload path such as 'amount'")
    op = condition.get("op")
    if op not in OPERATORS:
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
    if _is_number(value) and not math.isfinite(value):
        raise ConditionError("'value' must be a finite number")
    if op in {"in", "not_in"} and not isinstance(value, list):
        raise ConditionError(f"'{op}' takes a list of values")


def evaluate(condition: Any, payload: Any, depth: int = 0) -> bool:
    """True or False for a valid condition; CannotEvaluate when the payload cannot answer it."""
    if depth > MAX_DEPTH:
        raise ConditionError(f"conditions may nest at most {MAX_DEPTH} levels")
    if not isinstance(condition, Mapping):
        raise ConditionError("a condition must be an object")
    if "all" in condition:
        return all(evaluate(item, payload, depth + 1) for item in condition["all"])
    if "any" in condition:
        return any(evaluate(item, payload, depth + 1) for item in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], payload, depth + 1)

    path, op = condition["field"], condition["op"]
    actual = resolve_path(payload, path)
    if op == "exists":
        return (actual is not _MISSING) == condition.get("value", True)
    if actual is _MISSING:
        raise CannotEvaluate(f"payload.{path.removeprefix('payload.')} is missing")
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
        raise CannotEvaluate(f"payload.{path} is not a list or a string")
    # Ordering: numbers with numbers, strings with strings; anything else cannot be compared.
    if (_is_number(actual) and _is_number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str)
    ):
        pass
    else:
        raise CannotEvaluate(
            f"payload.{path} is {_type_name(actual)}, not comparable with {_type_name(expected)}"
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
    answered runs (the cautious choice); a request always gets at least the first stage."""
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


def route(rules: Sequence[RuleSpec], stages: Sequence[StageSpec], payload: Any) -> RouteResult:
    """The first matching rule decides; no match, or a rule that cannot be answered, is human."""
    for rule in rules:
        try:
            matched = evaluate(rule.condition, payload)
        except CannotEvaluate as exc:
            return RouteResult(
                action="human",
                rule=rule.name,
                reason=f"Rule '{rule.name}' could not be evaluated ({exc}); sent to a human.",
                stages=select_stages(stages, payload),
            )
        except ConditionError as exc:
            return RouteResult(
                action="human",
                rule=rule.name,
                reason=f"Rule '{rule.name}' is malformed ({exc}); sent to a human.",
                stages=select_stages(stages, payload),
            )
        if not matched:
            continue
        action: Action = rule.action if rule.action in ACTIONS else "human"  # type: ignore[assignment]
        if action == "human":
            return RouteResult(
                action="human",
                rule=rule.name,
                reason=f"Rule '{rule.name}' sends it to a human.",
                stages=select_stages(stages, payload),
            )
        verb = "approved" if action == "approve" else "rejected"
        return RouteResult(
            action=action, rule=rule.name, reason=f"Auto-{verb} by rule '{rule.name}'."
        )
    return RouteResult(
        action="human",
        reason="No rule matched; sent to a human.",
        stages=select_stages(stages, payload),
    )
