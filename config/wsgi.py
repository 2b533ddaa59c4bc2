from __future__ import annotations

import importlib
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()


def _import_what_requests_would() -> None:
    """Import now what the first requests would: the URLconf (and with it every view module)
    and the Redis client library of the cache and the broker.

    Each costs a second or more of CPU. Imported here, gunicorn's `--preload` (or
    `preload_app`) imports them once and every worker forks with them; without it each worker
    still pays at start rather than in its first requests (docs/operations.md).
    """
    get_resolver().url_patterns  # noqa: B018 (imports the views)
    uses_redis = "redis" in settings.CACHES["default"]["BACKEND"].lower() or str(
        settings.CELERY_BROKER_URL
    ).startswith(("redis://", "rediss://"))
    if uses_redis:
        importlib.import_module("redis")
        importlib.import_module("kombu.transport.redis")


_import_what_requests_would()
