"""The mapping of an inbound source: data, never code (docs/api.md "Inbound sources").

A mapping names, with dotted paths into the inbound JSON, the request's `title` (a template
whose only placeholders are `{dotted.path}`), its `external_id`, the source's event id, and
each payload field. Paths are looked up key by key in dicts (a digit also indexes a list);
nothing is ever an attribute access or a format specification, so a mapping cannot reach
anything but the body it is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_PATH_LENGTH = 200
MAX_FIELDS = 100
_SEGMENT = r"[A-Za-z0-9_$@-]+"
PATH = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Literal braces are written doubled ({{ and }}); anything else in braces is a placeholder.
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class MappingError(ValueError):
    """A mapping that cannot be saved: `where` names the part (title, external_id, fields.x)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class MissingPath(LookupError):
    def __init__(self, path: str, used_for: str) -> None:
        super().__init__(path)
        self.path = path
        self.used_for = used_for


_MISSING = object()


def check_path(path: str, *, where: str) -> str:
    if not isinstance(path, str) or not PATH.fullmatch(path) or len(path) > MAX_PATH_LENGTH:
        raise MappingError(
            where,
            f"{path!r} is not a dotted path such as properties.dealname (letters, digits, _ - $ @).",
        )
    return path


def template_paths(template: str, *, where: str = "title") -> list[str]:
    """The paths a title template names, in order; MappingError if it is not a plain template."""
    if not isinstance(template, str) or not template.strip():
        raise MappingError(where, "The template must not be empty.")
    paths = []
    for match in _TEMPLATE_TOKEN.finditer(template):
        token = match.group()
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise MappingError(where, "Unbalanced brace; write {{ or }} for a literal brace.")
        inner = match.group(1)
        if not PATH.fullmatch(inner):
            raise MappingError(
                where,
                f"{{{inner}}} is not a placeholder: only {{dotted.path}} is allowed "
                "(no attribute access, indexing or format specification).",
            )
        paths.append(inner)
    return paths


@dataclass(frozen=True)
class Mapping:
    title: str
    external_id: str = ""
    event_id: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def validate(self) -> Mapping:
        template_paths(self.title)
        for name in ("external_id", "event_id"):
            if value := getattr(self, name):
                check_path(value, where=name)
        if not isinstance(self.fields, dict):
            raise MappingError("fields", "Must be an object of {payload field: dotted path}.")
        if len(self.fields) > MAX_FIELDS:
            raise MappingError("fields", f"At most {MAX_FIELDS} payload fields.")
        for name, path in self.fields.items():
            if not FIELD_NAME.fullmatch(name):
                raise MappingError(
                    f"fields.{name}", "A payload field name is letters, digits and _."
                )
            check_path(path, where=f"fields.{name}")
        return self


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path, or _MISSING."""
    value = document
    for segment in path.split("."):
        if isinstance(value, dict):
            value = value.get(segment, _MISSING)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _require(document: Any, path: str, used_for: str) -> Any:
    value = lookup(document, path)
    if value is _MISSING:
        raise MissingPath(path, used_for)
    return value


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_title(template: str, document: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if token in ("{{", "}}"):
            return token[0]
        return as_text(_require(document, match.group(1), "title"))

    return _TEMPLATE_TOKEN.sub(replace, template)


@dataclass(frozen=True)
class Mapped:
    title: str
    external_id: str
    event_id: str
    payload: dict[str, Any]


def apply(mapping: Mapping, document: Any) -> Mapped:
    """What the mapping takes from a body; raises MissingPaths naming every missing path."""
    missing: list[MissingPath] = []

    def take(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except MissingPath as exc:
            missing.append(exc)
            return None

    title = take(render_title, mapping.title, document)
    external_id = (
        take(_require, document, mapping.external_id, "external_id") if mapping.external_id else ""
    )
    event_id = take(_require, document, mapping.event_id, "event_id") if mapping.event_id else ""
    payload = {
        name: take(_require, document, path, f"payload.{name}")
        for name, path in mapping.fields.items()
    }
    if missing:
        raise MissingPaths(missing)
    return Mapped(
        title=title or "",
        external_id=as_text(external_id),
        event_id=as_text(event_id),
        payload=payload,
    )


class MissingPaths(LookupError):
    def __init__(self, missing: Iterable[MissingPath]) -> None:
        self.missing = list(missing)
        super().__init__(", ".join(m.path for m in self.missing))
