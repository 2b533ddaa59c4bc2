"""Lockouts and the second factor over real HTTP: gunicorn with two worker processes.

The failed-login counts live in the shared cache (CACHE_URL), so five wrong passwords answered
by one worker lock the account out in the other one too. A per-process cache would let the
second worker accept the right password.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import requires_postgres
from tests.factories import PASSWORD
from tests.fixtures.gunicorn import Server

pytestmark = requires_postgres

TOO_MANY = "Too many failed login attempts"


def sign_in_attempt(server: Server, login: str, password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(server.url + "/accounts/login/", timeout=30)
    assert page.status_code == 200
    return session.post(
        server.url + "/accounts/login/",
        data={
            "login": login,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )


def answering_pid(server: Server) -> str:
    """Which worker answers a harmless GET now (read back from the access log)."""
    before = server.log().count("\n")
    requests.get(server.url + "/healthz", timeout=30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = server.log().splitlines()[before:]
        for line in lines:
            found = re.match(r"<(\d+)> \"GET /healthz", line)
            if found:
                return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no access-log line for the probe:\n{server.log()[-2000:]}")


def worker_pids(server: Server) -> list[str]:
    """gunicorn's worker processes: the master's children."""
    master = server.proc.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) >= 2, children
    return children


@contextmanager
def only(server: Server, pid: str) -> Iterator[None]:
    """Requests inside the block reach worker `pid`: the other workers are stopped (SIGSTOP)
    meanwhile, so only `pid` can accept a connection. (Holding the other one busy with an idle
    connection left the choice to the kernel, which sometimes always chose the wrong one.)"""
    others = [other for other in worker_pids(server) if other != pid]
    for other in others:
        os.kill(int(other), signal.SIGSTOP)
    try:
        assert answering_pid(server) == pid
        yield
    finally:
        for other in others:
            os.kill(int(other), signal.SIGCONT)


@pytest.fixture
def server(gunicorn_server: Callable[..., Server], reviewer: Any) -> Server:
    return gunicorn_server(workers=2)


def test_wrong_passwords_lock_the_account_out_in_both_workers(server: Server) -> None:
    first, second = worker_pids(server)[:2]
    with only(server, first):
        for _ in range(5):
            response = sign_in_attempt(server, "alice", "wrong-password")
            assert response.status_code == 200
            assert TOO_MANY not in response.text
    with only(server, second):
        # The second worker already counts the first one's five: locked from its first try.
        for _ in range(5):
            response = sign_in_attempt(server, "alice", "wrong-password")
            assert TOO_MANY in response.text, response.text[:2000]
    assert {first, second} <= server.worker_pids()
    # Ten wrong passwords later the right one is refused by each worker: no session.
    for pid in (first, second):
        with only(server, pid):
            response = sign_in_attempt(server, "alice", PASSWORD)
            assert response.status_code == 200, response.headers
            assert TOO_MANY in response.text
            assert "sessionid" not in response.cookies


def test_a_password_alone_does_not_open_the_admin_for_a_manager_with_totp(
    server: Server, manager: Any
) -> None:
    session = requests.Session()
    session.get(server.url + "/accounts/login/", timeout=30)
    response = session.post(
        server.url + "/accounts/login/",
        data={
            "login": manager.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/2fa/authenticate/")
    admin = session.get(server.url + "/admin/", allow_redirects=False, timeout=30)
    assert admin.status_code == 302
    assert "/login/" in admin.headers["Location"]
    # Django's own admin form is not there any more: it sends to allauth's login.
    form = session.post(
        server.url + "/admin/login/",
        data={
            "username": manager.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )
    assert form.status_code == 302
    assert form.headers["Location"].startswith("/accounts/login/")
    admin = session.get(server.url + "/admin/", allow_redirects=False, timeout=30)
    assert admin.status_code == 302


def test_the_access_log_has_no_link_tokens(server: Server) -> None:
    token = "eyJsIjoxLCJyIjoxfQ:1xYZGR:GP6RoXa71DPXtGMJ_7ME_UuwzKs6AkefhGGdO1Lh"
    assert requests.get(f"{server.url}/d/{token}/", timeout=30).status_code == 400
    assert requests.post(f"{server.url}/d/{token}/", timeout=30).status_code == 403  # CSRF
    deadline = time.monotonic() + 5
    while "/d/[redacted]/" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert '"GET /d/[redacted]/ HTTP/1.1" 400' in server.log()
    assert token.split(":")[0] not in server.log()
