"""The process's one Redis connection pool (sync and asyncio flavours), created on first use."""

from __future__ import annotations

import functools

import redis
import redis.asyncio
from django.conf import settings


@functools.cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)


@functools.cache
def get_async_redis() -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(settings.REDIS_URL)
