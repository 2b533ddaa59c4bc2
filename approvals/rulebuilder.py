"""Policy rules without JSON: the pieces behind the admin's rule builder (docs/architecture.md
"Policies without JSON").

Pure, like `routing`: a payload schema and a condition in, plain values out. The builder edits
the conditions `routing` evaluates (a leaf, or `all` / `any` of leaves); anything else (`not`,
nesting) stays editable as JSON. Checked here, on top of `routing.condition_problem`:

- the field is one of the payload schema's properties (when the policy has a schema);
- the operator suits the field's type (no "is under" on a boolean);
- the value suits the field's type ("abc" is not a number).

`describe_rule` writes the sentence the admin shows beside each rule: "Approve automatically
when amount is under 50".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from approvals import routing

OP_WORDS = {
    "lt": "is under",
    "lte": "is at most",
    "gt": "is over",
    "gte": "is at least",
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "exists": "is present",
}
# Operators in the order the builder offers them.
OP_CHOICES = [(op, OP_WORDS[op]) for op in OP_WORDS]
OPS_BY_TYPE = {
    "number": ["lt", "lte", "gt", "gte", "eq", "ne", "in", "not_in", "exists"],
    "string": ["eq", "ne", "in", "not_in", "contains", "exists"],
    "boolean": ["eq", "ne", "exists"],
    "array": ["contains", "exists"],
    "object": ["exists"],
    "any": list(OP_WORDS),
}
ACTION_WORDS = {
    "approve": "Approve automatically",
    "reject": "Reject automatically",
    "human": "Send to a person",
}


class BuilderError(ValueError):
    """What a manager is told about one builder row (or a JSON condition) that does not fit."""


@dataclass(frozen=True)
class SchemaField:
    path: str
    type: str  # number, string, boolean, array, object, any
    title: str = ""

    @property
    def label(self) -> str:
        return f"{self.path} ({self.type})" if self.type != "any" else self.path


def _type_of(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind in ("number", "integer"):
        return "number"
    if kind in ("string", "boolean", "array", "object"):
        return str(kind)
    if "enum" in spec and spec["enum"] and all(isinstance(v, str) for v in spec["enum"]):
        return "string"
    return "any"


def schema_fields(schema: Any, prefix: str = "", depth: int = 0) -> list[SchemaField]:
    """The payload paths a rule can test, from the schema's `properties` (nested objects too)."""
    if not isinstance(schema, Mapping) or depth > 4:
        return []
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    found: list[SchemaField] = []
    for key, spec in properties.items():
        if not isinstance(key, str) or not isinstance(spec, Mapping):
            continue
        path = f"{prefix}{key}"
        kind = _type_of(spec)
        found.append(SchemaField(path=path, type=kind, title=str(spec.get("title", ""))))
        if kind == "object":
            found.extend(schema_fields(spec, prefix=f"{path}.", depth=depth + 1))
    return found


def leaves_of(condition: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """("all" | "any", leaves) when the builder can show the condition, else None."""
    if condition in (None, {}):
        return "all", []
    if not isinstance(condition, Mapping):
        return None
    if "field" in condition:
        return "all", [dict(condition)]
    for join in ("all", "any"):
        items = condition.get(join)
        if (
            len(condition) == 1
            and isinstance(items, list)
            and all(isinstance(item, Mapping) and "field" in item for item in items)
        ):
            return join, [dict(item) for item in items]
    return None


def value_text(value: Any) -> str:
    """A leaf's value as the builder's text box shows it (lists comma-separated)."""
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value)


def _one_value(raw: str, kind: str, path: str) -> Any:
    raw = raw.strip()
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            raise BuilderError(f"{path} is a number: {raw!r} is not one.") from None
        if not math.isfinite(number):
            raise BuilderError(f"{path} is a number: {raw!r} is not one.")
        return (
            int(number)
            if number.is_integer() and "." not in raw and "e" not in raw.lower()
            else number
        )
    if kind == "boolean":
        if raw.lower() in ("true", "yes"):
            return True
        if raw.lower() in ("false", "no"):
            return False
        raise BuilderError(f"{path} is true or false, not {raw!r}.")
    return raw


def parse_value(raw: str, *, kind: str, op: str, path: str) -> Any:
    """The JSON value for a builder row's text: typed by the field, a list for in / not_in."""
    if op == "exists":
        return True
    if op in ("in", "not_in"):
        items = [part for part in raw.split(",") if part.strip()]
        if not items:
            raise BuilderError(f"Give {path} at least one value, separated by commas.")
        return [_one_value(part, kind, path) for part in items]
    if not raw.strip():
        raise BuilderError(f"Give a value to compare {path} with.")
    return _one_value(raw, kind, path)


def leaf_problem(leaf: Mapping[str, Any], fields: Mapping[str, SchemaField]) -> str | None:
    """A field the schema does not have, an operator or a value the field's type does not take."""
    path = routing._strip_prefix(str(leaf.get("field", "")))
    if not fields:
        return None
    field = fields.get(path)
    if field is None:
        known = ", ".join(sorted(fields)) or "none"
        return f"Unknown field {path!r}: the payload schema has {known}."
    op = str(leaf.get("op", ""))
    if op not in OPS_BY_TYPE[field.type]:
        allowed = ", ".join(OP_WORDS[o] for o in OPS_BY_TYPE[field.type])
        return f"'{OP_WORDS.get(op, op)}' does not suit {path} ({field.type}); use {allowed}."
    if op == "exists":
        return None
    values = leaf.get("value")
    for value in values if op in ("in", "not_in") and isinstance(values, list) else [values]:
        if field.type == "number" and not routing._is_number(value):
            return f"{path} is a number: {json.dumps(value)} is not one."
        if field.type == "string" and op != "contains" and not isinstance(value, str):
            return f"{path} is text: compare it with text, not {json.dumps(value)}."
        if field.type == "boolean" and not isinstance(value, bool):
            return f"{path} is true or false, not {json.dumps(value)}."
    return None


def condition_schema_problems(condition: Any, schema: Any) -> list[str]:
    """Every leaf of a (well-formed) condition checked against the schema's fields."""
    fields = {f.path: f for f in schema_fields(schema)}
    problems: list[str] = []
    pending = [condition]
    while pending:
        node = pending.pop(0)
        if not isinstance(node, Mapping):
            continue
        if "field" in node:
            problem = leaf_problem(node, fields)
            if problem:
                problems.append(problem)
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                pending.extend(node[key])
        if "not" in node:
            pending.append(node["not"])
    return problems


def _leaf_text(leaf: Mapping[str, Any]) -> str:
    path = routing._strip_prefix(str(leaf.get("field", "?")))
    op = str(leaf.get("op", "?"))
    if op == "exists":
        return f"{path} is {'present' if leaf.get('value', True) else 'missing'}"
    return f"{path} {OP_WORDS.get(op, op)} {_shown(leaf.get('value'))}"


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, str):
        return f"“{value}”"
    return value_text(value)


def describe_condition(condition: Any) -> str:
    """The condition in words: "amount is under 50 and currency is “USD”"."""
    if condition in (None, {}):
        return "always"
    if not isinstance(condition, Mapping):
        return "(not a condition)"
    if "field" in condition:
        return _leaf_text(condition)
    if isinstance(condition.get("not"), Mapping):
        return f"not ({describe_condition(condition['not'])})"
    for join, word in (("all", " and "), ("any", " or ")):
        items = condition.get(join)
        if isinstance(items, list):
            parts = [describe_condition(item) for item in items]
            parts = [f"({p})" if (" and " in p or " or " in p) else p for p in parts]
            return word.join(parts)
    return "(not a condition)"


def describe_rule(action: str, condition: Any) -> str:
    """ "Approve automatically when amount is under 50"."""
    return f"{ACTION_WORDS.get(action, action)} when {describe_condition(condition)}"


def describe_stage(condition: Any) -> str:
    if condition in (None, {}):
        return "Always runs"
    return f"Runs only when {describe_condition(condition)}"
