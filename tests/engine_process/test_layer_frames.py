"""The engine's websocket frames reach the channel layer's group members whichever way they go:
inside the flush's MULTI when the layer lives on the engine's Redis alone, through
``group_send`` otherwise."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
import redis.asyncio
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from contract.names import CHANNEL_MESSAGE_TYPE
from engine.core import ASK, BID
from engine.layer_frames import group_channel_namer
from engine.publisher import Publisher
from history.outbox import outbox
from tests.conftest import take_lease
from tests.engine_core.helpers import BUYER, SELLER, SYM, Harness

pytestmark = [pytest.mark.asyncio, pytest.mark.services]


@pytest_asyncio.fixture
async def engine_redis():
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    yield conn
    await conn.aclose()


def publisher_of_a_trade(engine_redis, layer) -> Publisher:
    """The engine's publisher on ``layer``, holding a trade (of 2 at 100) collected from its core."""
    h = Harness()
    publisher = Publisher(
        h.e,
        engine_redis,
        layer,
        take_lease(),
        lambda *handed: None,
        {},
        lambda closes: None,
        outbox=outbox(),
    )
    h.limit(SELLER, ASK, 100, 2)
    publisher.collect(h.limit(BUYER, BID, 100, 2), None)
    return publisher


async def trade_frames_received(layer: RedisPubSubChannelLayer, engine_redis) -> tuple[dict, list[dict]]:
    """A member of the layer's ``trade.SOL_USD`` group, and a trade flushed by the engine's
    publisher: what the member received, and the frames the flush left for ``group_send``."""
    member = await layer.new_channel()
    await layer.group_add(f"trade.{SYM}", member)
    publisher = publisher_of_a_trade(engine_redis, layer)
    outgoing = publisher.prepare(listening=())
    await publisher.send(outgoing)
    received = await asyncio.wait_for(layer.receive(member), timeout=5)
    await layer.flush()
    return received, outgoing.frames


def layer_on(*hosts: str) -> RedisPubSubChannelLayer:
    # Pub/sub channels are server-wide: a prefix of its own keeps other users of this Redis out.
    return RedisPubSubChannelLayer(hosts=list(hosts), prefix=f"test{uuid.uuid4().hex}")


async def test_a_layer_on_the_engines_redis_gets_its_frames_inside_the_flush(engine_redis):
    layer = layer_on(settings.REDIS_URL)

    received, left_for_group_send = await trade_frames_received(layer, engine_redis)

    assert left_for_group_send == {}
    assert received["type"] == CHANNEL_MESSAGE_TYPE
    (frame,) = received["frames"]
    assert frame["stream"] == f"trade.{SYM}"
    assert (frame["data"]["p"], frame["data"]["q"], frame["data"]["m"]) == ("100", "2", False)


async def test_a_sharded_layer_gets_its_frames_through_group_send(engine_redis):
    # Two shards: a group's channel may live on either, so the MULTI cannot carry the frames.
    layer = layer_on(settings.REDIS_URL, settings.REDIS_URL)

    received, left_for_group_send = await trade_frames_received(layer, engine_redis)

    assert f"trade.{SYM}" in left_for_group_send
    (frame,) = received["frames"]
    assert (frame["stream"], frame["data"]["p"], frame["data"]["q"]) == (f"trade.{SYM}", "100", "2")


@pytest.mark.parametrize(
    ("engine_url", "layer_url", "inline"),
    [
        ("redis://127.0.0.1:6390/0", "redis://127.0.0.1:6390/3", True),  # the db does not matter
        ("redis://127.0.0.1:6390/0", "redis://127.0.0.1:6379/0", False),
        ("redis://127.0.0.1:6390/0", "redis://other@127.0.0.1:6390/0", False),  # another user
    ],
)
async def test_only_a_layer_on_the_engines_server_as_its_user_is_written_by_the_flush(
    engine_url, layer_url, inline
):
    engine_conn = redis.asyncio.Redis.from_url(engine_url)  # nothing here connects

    assert (group_channel_namer(layer_on(layer_url), engine_conn) is not None) is inline
    await engine_conn.aclose()


async def test_a_layer_of_another_kind_is_not_written_by_the_engines_flush(engine_redis):
    assert group_channel_namer(InMemoryChannelLayer(), engine_redis) is None
    assert group_channel_namer(None, engine_redis) is None


async def test_without_a_channel_layer_a_flush_leaves_no_frames(engine_redis):
    """Nothing could send them, and a flush with frames left is sent at once instead of in
    front of the next read."""
    publisher = publisher_of_a_trade(engine_redis, None)

    outgoing = publisher.prepare(listening=[str(BUYER).encode()])

    assert outgoing.frames == {}
    assert outgoing.commands  # the cache, the trade and its pub/sub frame still go out
