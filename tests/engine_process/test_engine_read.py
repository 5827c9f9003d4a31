"""The engine's read: the next commands and, in the same round trip, the accounts with a private
subscriber as of right after them, when they changed."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
import redis.asyncio
import redis.exceptions
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from contract.names import PRIVATE_SUBSCRIBERS_KEY, balance_group, order_group
from engine import process, redis_batch
from engine.client import encode
from engine.commandlog import COMMAND_STREAM
from engine.core import ASK, BID, AddAsset
from engine.process import EngineProcess
from engine.publisher import Publisher
from exchange_site.redis_client import get_async_redis
from history.outbox import outbox
from streams import presence
from tests.conftest import take_lease
from tests.engine_core.helpers import BUYER, SELLER, Harness

pytestmark = pytest.mark.services


@pytest_asyncio.fixture
async def engine_process(redis_conn, tmp_path):
    get_async_redis.cache_clear()  # the web side's client belongs to the loop that made it
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    yield EngineProcess(conn, None, take_lease(), lambda *handed: None, tmp_path, outbox=outbox())
    await conn.aclose()
    await get_async_redis().aclose()
    get_async_redis.cache_clear()


@pytest.mark.asyncio
async def test_a_subscription_made_while_the_read_waits_is_seen_with_the_order_after_it(
    engine_process, redis_conn, monkeypatch
):
    monkeypatch.setattr(process, "READ_BLOCK_MS", 5_000)
    await engine_process._read()  # what the engine knew before: nobody
    reading = asyncio.ensure_future(engine_process._read())
    await asyncio.sleep(0.1)  # the XREAD is blocked in Redis by now

    await presence.acquire(7)
    entry_id = redis_conn.xadd(COMMAND_STREAM, {"cmd": b"{}"})
    response, listening = await reading

    [[stream, [(read_id, fields)]]] = response
    assert (stream, read_id, fields) == (COMMAND_STREAM.encode(), entry_id, [b"cmd", b"{}"])
    assert listening == [b"7"]


@pytest.mark.asyncio
async def test_the_subscribers_come_with_a_read_only_when_an_account_joined_or_left(
    engine_process, monkeypatch
):
    monkeypatch.setattr(process, "READ_BLOCK_MS", 1)

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


@pytest.mark.asyncio
async def test_caught_up_a_flush_goes_out_in_the_same_write_as_the_next_read(
    engine_process, redis_conn, monkeypatch
):
    exchanges: list[list[str]] = []
    exchange = redis_batch.Link.exchange

    async def recorded(link, commands):
        exchanges.append(["FLUSH" if c[1] == redis_batch.FLUSH_SCRIPT else c[0] for c in commands])
        return await exchange(link, commands)

    monkeypatch.setattr(redis_batch.Link, "exchange", recorded)
    running = asyncio.ensure_future(engine_process.run())
    redis_conn.xadd(COMMAND_STREAM, encode(AddAsset(ts=0, symbol="USD", decimals=2), "reply.asset"))
    reply = await asyncio.to_thread(redis_conn.blpop, ["reply.asset"], 5)
    engine_process.stopping.set()
    await running

    assert [e["type"] for e in json.loads(reply[1])["events"]] == ["AssetAdded"]
    flushes = [names for names in exchanges if "FLUSH" in names and "XREAD" in names]
    assert flushes[0] == ["FLUSH", "XREAD", "EVAL"]  # the reply, then the read


@pytest.mark.asyncio
async def test_an_account_added_without_a_new_version_is_seen_within_a_heartbeat(
    engine_process, redis_conn, monkeypatch
):
    """As from a web process of an older release during a deploy: the engine reads the accounts
    again at every heartbeat (a fifth of its lease: a second here) whatever the version says."""
    publishers: list[Publisher] = []

    def remembered(*args, **kwargs) -> Publisher:
        publishers.append(Publisher(*args, **kwargs))
        return publishers[-1]

    monkeypatch.setattr(process, "Publisher", remembered)
    running = asyncio.ensure_future(engine_process.run())
    await asyncio.sleep(0.3)
    redis_conn.hincrby(PRIVATE_SUBSCRIBERS_KEY, "7", 1)  # no new version

    deadline = asyncio.get_running_loop().time() + 1.5  # a heartbeat falls due within it
    while not (publishers and publishers[0].private_accounts == {7}):
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    engine_process.stopping.set()
    await running

    assert publishers[0].private_accounts == {7}


def test_private_frames_go_to_the_accounts_last_known_to_listen():
    h = Harness()
    unused = redis.asyncio.Redis.from_url(settings.REDIS_URL)  # prepare() only queues commands
    layer = InMemoryChannelLayer()  # not on Redis: the frames are left for group_send
    publisher = Publisher(
        h.e, unused, layer, None, lambda *handed: None, {}, lambda closes: None, outbox=outbox()
    )
    publisher.prepare(listening=[str(BUYER).encode()])  # nothing collected: who listens is kept
    publisher.collect(h.limit(BUYER, BID, 100, 1), None)
    publisher.collect(h.limit(SELLER, ASK, 200, 1), None)

    frames = publisher.prepare(listening=None).frames  # None: nobody joined or left since

    assert {group for group in frames if group.startswith("account.")} == {
        order_group(BUYER),
        balance_group(BUYER),
    }
