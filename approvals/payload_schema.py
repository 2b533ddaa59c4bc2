"""A policy's payload JSON Schema: checked when a manager saves it, enforced at intake.

Intake errors name field paths the way docs/api.md "The API" does ("payload.amount",
"payload.lines.0.sku"), so a caller can point at the offending value. The schema is data a
manager typed: a broken one must never turn a caller's request into a 500, so intake skips
(and logs) a schema that cannot be used, and routing still sends any payload it cannot judge
to a human.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

logger = logging.getLogger(__name__)

MAX_ERRORS = 20
MAX_MESSAGE = 300


class PayloadSchemaError(ValueError):
    """The schema itself is not a valid JSON Schema (reported to the manager at save time)."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def check_schema(schema: Any) -> None:
    """Raise PayloadSchemaError unless `schema` is empty or a valid JSON Schema object."""
    if schema in (None, {}):
        return
    if not isinstance(schema, dict):
        raise PayloadSchemaError("The payload schema must be a JSON object.")
    cls = jsonschema.validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        raise PayloadSchemaError(
            f"Not a valid JSON Schema{f' at {where}' if where else ''}: {_short(exc.message)}"
        ) from None


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Validator:
    # Keyed by the schema's canonical text: a policy edit makes a new key, so the cache can
    # never serve a stale validator, and compiling happens once per schema and process.
    schema = json.loads(schema_json)
    check_schema(schema)
    cls = jsonschema.validators.validator_for(schema, default=Draft202012Validator)
    validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def validate_payload(schema: Any, payload: Any) -> list[FieldError]:
    """The payload's violations of `schema`, as field paths and messages; [] when it conforms.

    An empty schema accepts everything. A schema that is itself broken (or refers to documents
    we will not fetch) is logged and skipped rather than failing the caller's request.
    """
    if schema in (None, {}):
        return []
    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
        violations = sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.path)))
        return _field_errors(violations)[:MAX_ERRORS]
    except (PayloadSchemaError, Unresolvable, RecursionError) as exc:
        logger.error("skipping an unusable payload schema: %s", exc)
        return []


def _field_errors(violations: Iterable[SchemaViolation]) -> list[FieldError]:
    # A dict keeps the order and drops repeats (each missing field of one "required" comes
    # as its own violation carrying the whole list).
    errors: dict[FieldError, None] = {}
    for violation in violations:
        base = "payload" + "".join(f".{part}" for part in violation.absolute_path)
        if violation.validator == "required" and isinstance(violation.instance, dict):
            # "required" is reported on the parent; name the missing field itself.
            missing = [
                name
                for name in violation.validator_value
                if isinstance(name, str) and name not in violation.instance
            ]
            for name in missing:
                errors[FieldError(field=f"{base}.{name}", message="This field is required.")] = None
            if missing:
                continue
        errors[FieldError(field=base, message=_short(violation.message))] = None
    return list(errors)


def _short(message: str) -> str:
    # jsonschema quotes the offending value; a 200 KB string must not come back in the error.
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
