"""A stand-in for what the engine loop asks of Redis besides its reads and flushes (which the
tests here route through stand-ins of their own)."""

from __future__ import annotations


class QuietRedis:
    """No cache keys to look at, no command appended yet, the lease given back."""

    async def scan_iter(self, match=None, count=None):
        return
        yield

    async def get(self, key) -> None:
        return None

    async def eval(self, *args) -> int:
        return 0
