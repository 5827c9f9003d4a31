"""The process's one Redis connection pool (sync and asyncio flavours), created on first use."""

from __future__ import annotations

import functools

import redis
import redis.asyncio
from django.conf import settings
from redis.utils import HIREDIS_AVAILABLE


@functools.cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)


class HiredisPackingConnection(redis.asyncio.Connection):
    """redis-py's asyncio connection packs every command in Python, argument by argument, even
    with hiredis installed (its sync connection uses hiredis's C packer). Same protocol bytes,
    packed in C, for the asyncio clients' commands: the websocket side's, and the engine's own
    apart from its reads and flushes (``engine.redis_batch`` packs those with hiredis itself).
    Packing a flush through redis-py was a tenth of the engine's CPU in bench/engine_pipeline.py."""

    _serializer = redis.connection.HiredisRespSerializer() if HIREDIS_AVAILABLE else None

    def pack_command(self, *args):
        return self._serializer.pack(*args)


def new_async_redis() -> redis.asyncio.Redis:
    """A client with a pool of its own (the engine owns and closes its one)."""
    options = {}
    # Plain TCP only: for rediss:// and unix:// from_url picks its own connection class.
    if HIREDIS_AVAILABLE and settings.REDIS_URL.startswith("redis://"):
        options["connection_class"] = HiredisPackingConnection
    return redis.asyncio.Redis.from_url(settings.REDIS_URL, **options)


@functools.cache
def get_async_redis() -> redis.asyncio.Redis:
    return new_async_redis()
