"""The log filter that keeps email-link tokens out of every line (approvals/security/logging.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from approvals.security.logging import ScrubDeepLinkTokens, scrub

TOKEN = "eyJsIjoxLCJyIjoxfQ:1xYZGR:GP6RoXa71DPXtGMJ_7ME_Uuw-zKs6AkefhGGdO1Lh"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Gone: /d/{TOKEN}/", "Gone: /d/[redacted]/"),
        (f'"POST /d/{TOKEN}/ HTTP/1.1" 422', '"POST /d/[redacted]/ HTTP/1.1" 422'),
        (
            f"/accounts/login/?next=%2Fd%2F{TOKEN.replace(':', '%3A')}%2F",
            "/accounts/login/?next=%2Fd%2F[redacted]%2F",
        ),
        (
            f"https://checkpoint.example.com/d/{TOKEN}/",
            "https://checkpoint.example.com/d/[redacted]/",
        ),
        ("/inbox/01a2/decide", "/inbox/01a2/decide"),
        ("/admin/approvals/deeplink/", "/admin/approvals/deeplink/"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def record(msg: Any, args: Any) -> logging.LogRecord:
    return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, None)


def test_the_filter_cleans_the_message_and_each_argument() -> None:
    class Path:
        def __str__(self) -> str:
            return f"/d/{TOKEN}/"

    line = record("%s: %s (%d)", ("Unprocessable", Path(), 422))
    assert ScrubDeepLinkTokens().filter(line) is True
    assert line.getMessage() == "Unprocessable: /d/[redacted]/ (422)"


def test_a_dict_of_arguments_is_cleaned_in_place() -> None:
    class Atoms(dict[str, Any]):
        """Like gunicorn's access-log atoms: a missing key reads as "-"."""

        def __getitem__(self, key: str) -> Any:
            return super().get(key, "-")

    atoms = Atoms(r=f"GET /d/{TOKEN}/ HTTP/1.1", s="200")
    line = record("%(r)s %(s)s %(missing)s", ())
    line.args = atoms
    ScrubDeepLinkTokens().filter(line)
    assert line.args is atoms
    assert line.getMessage() == "GET /d/[redacted]/ HTTP/1.1 200 -"


def test_a_request_whose_path_holds_a_token_is_dropped_from_the_record(rf: Any) -> None:
    line = record("Gone: %s", (f"/d/{TOKEN}/",))
    line.request = rf.get(f"/d/{TOKEN}/")  # type: ignore[attr-defined]
    ScrubDeepLinkTokens().filter(line)
    assert getattr(line, "request") is None  # noqa: B009  (set at run time, as Django does)
    kept = record("Not Found: %s", ("/inbox/x/",))
    kept.request = request = rf.get("/inbox/x/")  # type: ignore[attr-defined]
    ScrubDeepLinkTokens().filter(kept)
    assert getattr(kept, "request") is request  # noqa: B009


def test_gunicorns_loggers_get_the_filter_from_gunicorn_conf() -> None:
    import importlib.util
    from pathlib import Path

    from django.conf import settings

    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", Path(settings.BASE_DIR) / "gunicorn.conf.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.on_starting(None)
    module.post_fork(None, None)  # idempotent
    for name in ("gunicorn.access", "gunicorn.error"):
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, ScrubDeepLinkTokens) for f in filters) == 1
