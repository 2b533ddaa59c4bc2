"""Run the demo's processes together and stop all of them on Ctrl-C (used by `make demo`).

Steps: start the web server, a Celery worker and Celery beat, each in its own process group;
wait for the web port to answer and print the URL and the demo logins; then wait. On SIGINT or
SIGTERM, or when any process exits on its own, stop them all: SIGTERM to each leader, a grace
period (Celery's warm shutdown takes several seconds), then SIGKILL to whatever is left in each
group, so nothing outlives the demo.

Standard library only: it runs before anything is known about the project's own code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
GRACE_SECONDS = 20.0
LOG_DIR = ROOT / ".demo-logs"


def commands(port: str) -> dict[str, list[str]]:
    python = str(VENV_BIN / "python")
    celery = str(VENV_BIN / "celery")
    return {
        # --noreload: one process per service, so stopping the leader stops the service.
        "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [celery, "-A", "config", "worker", "-l", "info", "--concurrency", "2"],
        "beat": [celery, "-A", "config", "beat", "-l", "info"],
    }


def wait_for_port(port: int, processes: dict[str, subprocess.Popen[bytes]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in processes.values()):
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every leader, wait up to GRACE_SECONDS, then SIGKILL every group."""
    for proc in processes.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for proc in processes.values():
        remaining = max(0.0, deadline - time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=remaining)
    for proc in processes.values():
        # Children (prefork pool workers) may outlive a leader that was killed hard.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def demo_environment(port: str, environ: Mapping[str, str]) -> dict[str, str]:
    """What the demo adds to the environment: links in emails and the API's review_url point
    at this port unless SITE_URL says otherwise (make demo sets the same default)."""
    return {"SITE_URL": environ.get("SITE_URL") or f"http://127.0.0.1:{port}"}


def mail_dir() -> str | None:
    """The folder the demo's emails are written to (EMAIL_URL=filemail://…), if any."""
    url = os.environ.get("EMAIL_URL", "")
    return url.removeprefix("filemail://") if url.startswith("filemail://") else None


def print_banner(port: str) -> None:
    logins = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "seed_demo", "--logins-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    mails = mail_dir()
    mail_line = f" emails     {mails}/ (one file per message)\n" if mails else ""
    # Everything else goes to log files, so this banner stays the last thing on screen.
    print(
        "\n"
        "==================================================================\n"
        f" logs       {LOG_DIR}/ (web, worker, beat)\n"
        f"{mail_line}"
        " Ctrl-C stops the web server, the worker and beat.\n"
        "\n"
        f" Checkpoint demo: http://127.0.0.1:{port}/\n"
        f"   inbox  http://127.0.0.1:{port}/inbox/\n"
        f"   admin  http://127.0.0.1:{port}/admin/\n"
        f"{logins}"
        "==================================================================\n",
        flush=True,
    )


def main() -> int:
    port = os.environ.get("PORT", "8000")
    if not port.isdigit():
        print(f"PORT={port!r} is not a port number.", file=sys.stderr)
        return 2
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    os.environ.update(demo_environment(port, os.environ))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    LOG_DIR.mkdir(exist_ok=True)
    try:
        for name, argv in commands(port).items():
            # A new session per service: the terminal's Ctrl-C reaches only this supervisor,
            # which then stops the services in order instead of all of them dying at once.
            log = (LOG_DIR / f"{name}.log").open("ab")
            processes[name] = subprocess.Popen(
                argv, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
            )
        if wait_for_port(int(port), processes, timeout=60):
            print_banner(port)
        elif not stopping:
            print(
                f"The web server did not start on port {port}; see {LOG_DIR}/web.log.",
                file=sys.stderr,
            )
            return 1
        while not stopping:
            exited = [name for name, proc in processes.items() if proc.poll() is not None]
            if exited:
                print(
                    f"{', '.join(exited)} exited (see {LOG_DIR}/); stopping the demo.",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("Stopping the web server, the worker and beat…", file=sys.stderr, flush=True)
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
