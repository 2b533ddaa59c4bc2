"""Per-token rate limit for /api/v1/ (docs/api.md "Rate limit"): `API_RATE_LIMIT` requests per
fixed window, counted in the shared Django cache so every worker and machine counts together.

One cache operation per request in the steady state: an INCR of the window's counter (on Redis
through the client directly, because Django's `incr` checks existence first, a second round
trip); the first request of a window also sets the counter's expiry.
"""

from __future__ import annotations

import functools
import math
import re
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@functools.lru_cache(maxsize=8)
def parse_rate(rate: str) -> tuple[int, int]:
    """'600/m' -> (600, 60); '100/10s' -> (100, 10). ValueError for anything else."""
    match = _RATE.match(rate or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"API_RATE_LIMIT={rate!r}: write it as N/s, N/m, N/h, N/d or N/<k>s")
    period = int(match.group(2) or 1) * _UNITS[match.group(3)]
    return int(match.group(1)), max(period, 1)


def _count(key: str, period: int) -> int:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)
        count = int(client.incr(full_key))
        if count == 1:
            client.expire(full_key, period + 1)
        return count
    try:
        return int(cache.incr(key))
    except ValueError:
        # The window's first request (or a race with another one: add() says who won).
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return int(cache.incr(key))


def retry_after(*, token_id: int) -> int | None:
    """Count one request for the token; None while it is within its rate, else the seconds
    until its window ends (the Retry-After value)."""
    limit, period = parse_rate(settings.API_RATE_LIMIT)
    now = time.time()
    window = int(now // period)
    if _count(f"api-rate:{token_id}:{period}:{window}", period) <= limit:
        return None
    return max(1, math.ceil((window + 1) * period - now))
