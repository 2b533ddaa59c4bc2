"""The rate limit counted in Redis (the production cache): one counter per token and window,
shared by every worker (docs/api.md "Rate limit")."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from approvals.api.ratelimit import parse_rate

REDIS = os.environ.get("CELERY_BROKER_URL", "")

requires_redis = pytest.mark.skipif(
    not REDIS.startswith("redis://"),
    reason="needs Redis: set CELERY_BROKER_URL=redis://… (its database is used as the cache)",
)


@pytest.fixture
def redis_cache(settings: Any) -> Any:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS,
            # A prefix of its own, not clear(): that would empty the broker's database.
            "KEY_PREFIX": f"checkpoint-test-{uuid.uuid4().hex}",
        }
    }
    return caches["default"]


@requires_redis
def test_429_after_the_rate_with_the_count_in_redis(
    redis_cache: Any, api: Client, settings: Any
) -> None:
    settings.API_RATE_LIMIT = "2/m"
    if time.time() % 60 > 50:  # counts are per clock minute: keep the three calls in one
        time.sleep(61 - time.time() % 60)
    assert [api.get("/api/v1/requests").status_code for _ in range(3)] == [200, 200, 429]
    # The counter expires with its window.
    (key,) = redis_cache._cache.get_client().keys(f"{redis_cache.key_prefix}*")
    assert 0 < redis_cache._cache.get_client().ttl(key) <= 61


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("600/m", (600, 60)), ("10/s", (10, 1)), ("100/10s", (100, 10)), ("5/h", (5, 3600))],
)
def test_rates_parse(rate: str, parsed: tuple[int, int]) -> None:
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "0/m", "ten/m", "5/w", "5"])
def test_bad_rates_are_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="API_RATE_LIMIT"):
        parse_rate(rate)
