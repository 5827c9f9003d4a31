"""The engine's read: the next commands and, in the same round trip, the accounts with a private
subscriber as of right after them, when they changed."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
import redis.asyncio
import redis.exceptions
from django.conf import settings

from engine import process
from engine.client import COMMAND_STREAM
from engine.process import EngineProcess
from exchange_site.redis_client import get_async_redis
from streams import presence

pytestmark = [pytest.mark.asyncio, pytest.mark.services]


@pytest_asyncio.fixture
async def engine_process(redis_conn, tmp_path):
    get_async_redis.cache_clear()  # the web side's client belongs to the loop that made it
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    yield EngineProcess(conn, None, lambda batch: None, tmp_path)
    await conn.aclose()
    get_async_redis.cache_clear()


async def test_a_subscription_made_while_the_read_waits_is_seen_with_the_order_after_it(
    engine_process, redis_conn, monkeypatch
):
    monkeypatch.setattr(process, "READ_BLOCK_MS", 5_000)
    await engine_process.position_group()
    await engine_process._read()  # what the engine knew before: nobody
    reading = asyncio.ensure_future(engine_process._read())
    await asyncio.sleep(0.1)  # the XREADGROUP is blocked in Redis by now

    await presence.acquire(7)
    entry_id = redis_conn.xadd(COMMAND_STREAM, {"cmd": b"{}"})
    response, listening = await reading

    [[stream, [(read_id, fields)]]] = response
    assert (stream, read_id, fields) == (COMMAND_STREAM.encode(), entry_id, [b"cmd", b"{}"])
    assert listening == [b"7"]


async def test_the_subscribers_come_with_a_read_only_when_an_account_joined_or_left(
    engine_process, monkeypatch
):
    monkeypatch.setattr(process, "READ_BLOCK_MS", 1)
    await engine_process.position_group()

    async def listening():
        return (await engine_process._read())[1]

    assert await listening() == []  # the first read: nobody
    assert await listening() is None
    await presence.acquire(7)
    assert await listening() == [b"7"]
    await presence.acquire(7)  # a second connection of the same account
    await presence.release(7)
    assert await listening() is None
    await presence.release(7)
    assert await listening() == []


async def test_a_read_without_its_consumer_group_says_nogroup(engine_process):
    with pytest.raises(redis.exceptions.ResponseError, match="NOGROUP"):
        await engine_process._read()
