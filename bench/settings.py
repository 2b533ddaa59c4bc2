"""Production settings plus the hello-world baseline route, for the benchmark only.

Everything comes from config.settings (and so from the environment bench/run.py sets: DEBUG
off, a SECRET_KEY, the bench database); only the URLconf and the static root differ, so the
production code carries no benchmark route and the baseline runs through the same middleware.
"""

from __future__ import annotations

import os
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR

ROOT_URLCONF = "bench.urls"
# collectstatic writes the manifest the production storage needs; keep it out of the tree.
STATIC_ROOT = Path(os.environ.get("BENCH_OUT_DIR", str(BASE_DIR / "bench" / "out"))) / "static"
