"""Reading a request body strictly (docs/api.md "The API"), before any schema sees it.

Ninja's own parser is `json.loads`, which accepts NaN, Infinity, 1e400 (as infinity), duplicate
keys (the last wins), lone surrogates and any depth until the interpreter's stack gives out.
Each of those either breaks PostgreSQL's jsonb or makes two readers disagree about one document,
so the intake endpoint reads its body here instead:

- `Content-Type` must be JSON (415); the body at most API_MAX_BODY_BYTES (413).
- UTF-8, one JSON object, no NaN/Infinity, no number beyond a double, no duplicate keys (400).
- No NUL character and no lone surrogate in any key or string; `payload` at most 32 levels
  deep (422, naming the field).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from approvals.api.problems import MALFORMED, Problem, validation_problem

MAX_PAYLOAD_DEPTH = 32
# A document nested deeper than this is refused before parsing: the parser recurses, and the
# only field that may nest (payload) is limited to 32 levels inside a one-level envelope.
MAX_DOCUMENT_DEPTH = MAX_PAYLOAD_DEPTH + 8

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_FORBIDDEN_CHARS = re.compile("[\x00\ud800-\udfff]")


def max_body_bytes() -> int:
    return settings.API_MAX_BODY_BYTES


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's body as a dict, or a Problem saying exactly what is wrong with it."""
    raw = read_bounded(request)
    if not raw.strip():
        raise Problem(400, "The request body is empty; send a JSON object.", type=MALFORMED)
    _check_content_type(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "The request body is not valid UTF-8.", type=MALFORMED) from None
    if _nesting(text) > MAX_DOCUMENT_DEPTH:
        raise Problem(
            400, f"The JSON nests more than {MAX_DOCUMENT_DEPTH} levels deep.", type=MALFORMED
        )
    try:
        document = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
            parse_float=_finite_float,
        )
    except _StrictJSONError as exc:
        raise Problem(400, str(exc), type=MALFORMED) from None
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError (a ValueError) says where; so does the int-digits limit.
        raise Problem(400, f"The request body is not valid JSON: {exc}.", type=MALFORMED) from None
    if not isinstance(document, dict):
        raise validation_problem([("body", "The body must be a JSON object.")])
    _check_strings_and_depth(document)
    return document


def _check_content_type(request: HttpRequest) -> None:
    content_type = (request.content_type or "").lower()
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    is_json = content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )
    if not is_json or charset not in ("utf-8", "utf8"):
        raise Problem(
            415,
            "Send the body as 'Content-Type: application/json' (UTF-8).",
            title="Unsupported Media Type",
        )


def read_bounded(request: HttpRequest) -> bytes:
    """The raw body, or a 413 beyond API_MAX_BODY_BYTES (read before any verification)."""
    limit = max_body_bytes()
    too_large = Problem(413, f"The request body is larger than {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Problem(400, "The Content-Length header is not a number.", type=MALFORMED) from None
    if declared > limit:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    return raw


def _nesting(text: str) -> int:
    """The deepest bracket nesting outside strings; cheap, and never recursive."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class _StrictJSONError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Refused rather than "last one wins": two readers of one document must agree.
            raise _StrictJSONError(f"The key {key!r} appears twice in one JSON object.")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _StrictJSONError(f"{name} is not JSON; send numbers as finite values.")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _StrictJSONError(f"The number {text[:40]} is too large.")
    return value


def _check_strings_and_depth(document: dict[str, Any]) -> None:
    """Refuse NUL and lone surrogates anywhere (jsonb cannot store them) and a payload deeper
    than MAX_PAYLOAD_DEPTH levels. Iterative: the document may be large."""
    stack: list[tuple[Any, str, int]] = []
    errors: list[tuple[str, str]] = []
    for key, value in document.items():
        if _FORBIDDEN_CHARS.search(key):
            errors.append((_printable(key), "Field names must not contain NUL or lone surrogates."))
        else:
            stack.append((value, key, 0))
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if _FORBIDDEN_CHARS.search(value):
                errors.append((path, "Must not contain NUL characters or lone surrogates."))
        elif isinstance(value, dict | list):
            depth += 1
            if path.split(".", 1)[0] == "payload" and depth > MAX_PAYLOAD_DEPTH:
                errors.append(
                    ("payload", f"The payload nests more than {MAX_PAYLOAD_DEPTH} levels.")
                )
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for name, item in items:
                name = str(name)
                if _FORBIDDEN_CHARS.search(name):
                    errors.append((path, "Field names must not contain NUL or lone surrogates."))
                    continue
                stack.append((item, f"{path}.{name}", depth))
        if len(errors) >= 20:
            break
    if errors:
        raise validation_problem(sorted(set(errors)))


def _printable(text: str) -> str:
    return _FORBIDDEN_CHARS.sub("\N{REPLACEMENT CHARACTER}", text)
