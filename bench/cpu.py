"""CPU per operation on the hot paths, in-process: a developer's tool, not a figure.

    .venv/bin/python bench/cpu.py [--setup] [--count 200] [--only intake,inbox,decide]
                                  [--cprofile DIR] [--pyinstrument DIR]

Wall-clock figures need a quiet machine; `time.process_time()` per operation does not (it
counts this process's CPU only, not PostgreSQL's and not the waits), so two people can compare
a change on a busy machine. `--setup` creates the bench database (as `bench/run.py` does, with
`--keep-db`: the playbook, 50 reviewers, 100,000 open requests); later runs reuse it. The
intake counts the notice's publish to `BENCH_REDIS_URL` (Redis db 9 by default), as production
does. `--cprofile DIR` also writes the top costs per path (cProfile, CPU clock) to DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    DECIDE_PATH,
    DEFAULT_REDIS,
    INBOX_PATH,
    INTAKE_PATH,
    QUICK,
    bench_env,
    create_database,
    database_urls,
    drop_database,
    free_port,
    intake_plan,
    manage,
    redis_ok,
    run_step,
)

STATE = ROOT / "bench" / "out" / "cpu-base.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="(re)create the bench database")
    parser.add_argument("--count", type=int, default=200, help="operations per path")
    parser.add_argument("--only", default="intake,inbox,decide", help="paths to measure")
    parser.add_argument("--cprofile", default="", help="directory for cProfile top costs")
    parser.add_argument("--pyinstrument", default="", help="directory for pyinstrument trees")
    options = parser.parse_args()

    maintenance_url, db_url, db_name = database_urls()
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    broker = redis_url if redis_ok(redis_url) else "memory://"
    env = bench_env(db_url=db_url, broker_url=broker, port=free_port())
    STATE.parent.mkdir(parents=True, exist_ok=True)
    manage(env, "collectstatic", "--noinput")
    if options.setup or not STATE.exists():
        drop_database(maintenance_url, db_name)
        create_database(maintenance_url, db_name)
        manage(env, "migrate", "--noinput")
        base = run_step(env, "base", {"reviewers": QUICK.reviewers})
        run_step(env, "seed_inbox", {"open": QUICK.inbox_open})
        keys = {k: env[k] for k in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")}
        STATE.write_text(json.dumps({"db": db_name, "base": base, "keys": keys}))
    state = json.loads(STATE.read_text())
    base = state["base"]
    env.update(state["keys"])  # the sessions and the encrypted secrets were made with these
    result = run_step(
        env,
        "cpu_http",
        {
            "count": options.count,
            "only": options.only.split(","),
            "token": base["token"],
            "intake_path": INTAKE_PATH,
            "intake_body": intake_plan(base)["items"][0]["body"],
            "inbox_path": INBOX_PATH,
            "decide_path": DECIDE_PATH,
            "cprofile": options.cprofile,
            "pyinstrument": options.pyinstrument,
        },
    )
    for name, figures in result.items():
        print(
            f"{name:7} {figures['ms']:6.2f} ms CPU per operation, {figures['queries']} queries"
            f" (statuses {figures['statuses']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
