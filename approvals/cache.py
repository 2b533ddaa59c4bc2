"""Django's Redis cache, with one client per connection pool (docs/architecture.md "Speed").

Django's `RedisCacheClient.get_client` makes a new `redis.Redis` for every cache call, and
redis-py fills a table of about 170 response callbacks in each one's constructor: about half a
millisecond of CPU per call, twice per intake (the rate limit and the sealer's kick). A
`redis.Redis` is safe to share between threads (each command borrows a connection from the
pool), so one per pool is kept and reused.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class KeptRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # the private helpers below are not in django-stubs
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = django_client._client(
                connection_pool=django_client._get_connection_pool(write)
            )
        return client


class KeptRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` with `KeptRedisCacheClient`."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = KeptRedisCacheClient
