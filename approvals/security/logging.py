"""Email-link tokens are credentials: keep them out of every log line (docs/security.md "Email links").

`/d/<token>/` (and its URL-encoded form, as in a `?next=` parameter) becomes `/d/[redacted]/`
in a record's message and in each of its arguments, before any handler formats it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# A token is django.core.signing output (URL-safe base64, ".", ":"), possibly percent-encoded.
TOKEN_IN_PATH = re.compile(r"(?i)(/|%2F)d(/|%2F)(?:[A-Za-z0-9_.:\-]|%3A)+")
REDACTED = r"\1d\2[redacted]"


def scrub(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    try:
        text = str(value)  # a request, a URL object: whatever the format string will print
    except Exception:  # an object that cannot print itself cannot leak a token either
        return value
    cleaned = scrub(text)
    return value if cleaned == text else cleaned


class ScrubDeepLinkTokens(logging.Filter):
    """Rewrites the record in place and always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        else:
            record.msg = _clean(record.msg)
        if isinstance(record.args, dict):
            # In place: gunicorn's access-log atoms are a dict subclass that answers "-" for
            # a missing key, which a plain copy would lose.
            for key, value in list(record.args.items()):
                record.args[key] = _clean(value)
        elif record.args:
            record.args = tuple(_clean(value) for value in record.args)
        # django.request attaches the request itself; handlers that print it (the admins'
        # error email) would print its path. Dropped when that path holds a token.
        request = getattr(record, "request", None)
        if request is not None and scrub(str(getattr(request, "path", ""))) != str(
            getattr(request, "path", "")
        ):
            record.request = None
        return True
