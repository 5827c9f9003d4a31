"""The engine's read: the next commands and, in the same round trip, the accounts with a private
subscriber as of right after them."""

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
from engine.publisher import PRIVATE_SUBSCRIBERS_KEY

pytestmark = [pytest.mark.asyncio, pytest.mark.services]


@pytest_asyncio.fixture
async def engine_process(redis_conn, tmp_path):
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    yield EngineProcess(conn, None, lambda batch: None, tmp_path)
    await conn.aclose()


async def test_a_subscription_made_while_the_read_waits_is_seen_with_the_order_after_it(
    engine_process, redis_conn, monkeypatch
):
    monkeypatch.setattr(process, "READ_BLOCK_MS", 5_000)
    await engine_process.position_group()
    reading = asyncio.ensure_future(engine_process._read())
    await asyncio.sleep(0.1)  # the XREADGROUP is blocked in Redis by now

    redis_conn.hincrby(PRIVATE_SUBSCRIBERS_KEY, "7", 1)
    entry_id = redis_conn.xadd(COMMAND_STREAM, {"cmd": b"{}"})
    response, listening = await reading

    [[stream, [(read_id, fields)]]] = response
    assert (stream, read_id, fields) == (COMMAND_STREAM.encode(), entry_id, [b"cmd", b"{}"])
    assert listening == [b"7"]


async def test_a_read_without_its_consumer_group_says_nogroup(engine_process):
    with pytest.raises(redis.exceptions.ResponseError, match="NOGROUP"):
        await engine_process._read()
