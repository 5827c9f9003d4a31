"""Replies leave the publisher in one Redis call per flush: each still reaches its own key, with
an expiry, and one unusable key costs only its own reply."""

from __future__ import annotations

import json

import pytest
import redis.asyncio
from django.conf import settings

from contract import md_cache
from contract.names import REPLY_TTL_S
from engine.publisher import Publisher
from engine.redis_batch import FlushFailed
from history.outbox import outbox
from tests.conftest import take_lease
from tests.engine_core.helpers import BUYER, Harness

pytestmark = pytest.mark.asyncio


async def flush_deposits(redis_conn, reply_keys: list[str]) -> None:
    """One deposit command per reply key, collected and flushed together."""
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    h = Harness()
    publisher = Publisher(
        h.e, conn, None, take_lease(), lambda *handed: None, {}, lambda closes: None, outbox=outbox()
    )
    for i, key in enumerate(reply_keys):
        publisher.collect(h.deposit(BUYER, "USD", 10 + i), key)
    await publisher.flush()
    await conn.aclose()


def reply_amount(redis_conn, key: str) -> int:
    (raw,) = redis_conn.lrange(key, 0, -1)
    (event,) = json.loads(raw)["events"]
    return event["amount"]


async def test_every_reply_of_a_flush_reaches_its_own_key_with_an_expiry(redis_conn):
    await flush_deposits(redis_conn, ["reply.a", "reply.b", "reply.c"])

    assert [reply_amount(redis_conn, k) for k in ("reply.a", "reply.b", "reply.c")] == [10, 11, 12]
    assert 0 < redis_conn.ttl("reply.b") <= REPLY_TTL_S


async def test_a_key_that_cannot_take_a_reply_loses_only_its_own(redis_conn):
    redis_conn.set("reply.taken", "not a list")

    await flush_deposits(redis_conn, ["reply.a", "reply.taken", "reply.c"])

    assert redis_conn.get("reply.taken") == b"not a list"
    assert [reply_amount(redis_conn, k) for k in ("reply.a", "reply.c")] == [10, 12]


async def test_a_prepared_flush_holds_only_what_was_collected_before_it(redis_conn):
    """The engine applies the next batch while the previous flush is sent: what it collects
    then belongs to the next flush, and nothing is sent before ``send``."""
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    h = Harness()
    publisher = Publisher(
        h.e, conn, None, take_lease(), lambda *handed: None, {}, lambda closes: None, outbox=outbox()
    )
    publisher.collect(h.deposit(BUYER, "USD", 10), "reply.first")
    first = publisher.prepare(listening=())
    publisher.collect(h.deposit(BUYER, "USD", 11), "reply.second")
    assert not redis_conn.exists("reply.first")

    await publisher.send(first)
    assert reply_amount(redis_conn, "reply.first") == 10 and not redis_conn.exists("reply.second")
    await publisher.send(publisher.prepare(listening=()))
    assert reply_amount(redis_conn, "reply.second") == 11
    await conn.aclose()


async def test_a_flush_that_redis_refuses_raises_its_error(redis_conn):
    """The engine stops on it (and replays from its snapshot) rather than carry on with a cache
    that no longer says what the replies promise."""
    redis_conn.set(md_cache.balances_key(BUYER), "not a hash")
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    h = Harness()
    publisher = Publisher(
        h.e, conn, None, take_lease(), lambda *handed: None, {}, lambda closes: None, outbox=outbox()
    )
    publisher.collect(h.deposit(BUYER, "USD", 10), "reply.a")

    with pytest.raises(FlushFailed, match="WRONGTYPE"):
        await publisher.flush()
    await conn.aclose()
