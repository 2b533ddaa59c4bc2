"""gunicorn's settings, read from the working directory (docs/operations.md "Processes").

Only what Checkpoint needs beyond the command line: email-link tokens (/d/<token>/) are
credentials, so gunicorn's own loggers (the access log prints every request line) get the
same scrubbing filter as Django's (approvals/security/logging.py).
"""

from __future__ import annotations

import logging
from typing import Any

from approvals.security.logging import ScrubDeepLinkTokens

GUNICORN_LOGGERS = ("gunicorn.access", "gunicorn.error")

# Import the app (and what config/wsgi.py imports ahead of the first requests) once, before
# forking: every worker starts warm and shares those pages of memory. Nothing in the import
# opens a database connection, so no connection is shared between workers.
preload_app = True


def _scrub_gunicorn_logs() -> None:
    for name in GUNICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubDeepLinkTokens) for f in logger.filters):
            logger.addFilter(ScrubDeepLinkTokens())


def on_starting(server: Any) -> None:
    _scrub_gunicorn_logs()


def post_fork(server: Any, worker: Any) -> None:
    _scrub_gunicorn_logs()
