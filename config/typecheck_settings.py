"""The settings mypy's Django plugin loads (pyproject.toml [tool.django-stubs]).

Type checking reads the settings without running the app, so it may use the demo's key without
CHECKPOINT_DEMO=1 (config/settings.py refuses DEBUG=1 without a SECRET_KEY otherwise).
"""

import os

os.environ.setdefault("CHECKPOINT_DEMO", "1")

from config.settings import *  # noqa: F403
