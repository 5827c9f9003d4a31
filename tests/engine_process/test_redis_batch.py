"""The engine's hand-written round trips (``engine.redis_batch``) against the real Redis: one
reply per command, Redis's errors as values, and a connection cut off in the middle of an
exchange never carries its late replies into the next one. Its flushes: one fenced script that
writes only while the engine holds its lease."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
import redis.asyncio
import redis.exceptions
from django.conf import settings
from redis.exceptions import ResponseError

from engine import lease
from engine.commandlog import COMMAND_STREAM, LOG_KEY
from engine.redis_batch import CommandBatch, FlushFailed, Link, flush_result
from exchange_site.redis_client import get_redis
from tests.conftest import take_lease

pytestmark = pytest.mark.services


@pytest_asyncio.fixture
async def link(redis_conn):
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    yield Link(client)
    await client.aclose()


@pytest.mark.asyncio
async def test_an_exchange_returns_one_reply_per_command_with_errors_as_values(link):
    set_reply, error, value = await link.exchange([("SET", "k", "v"), ("LPUSH", "k", "x"), ("GET", "k")])

    assert (set_reply, value) == (b"OK", b"v")
    assert isinstance(error, ResponseError) and str(error).startswith("WRONGTYPE")


@pytest.mark.asyncio
async def test_an_exchange_cut_off_before_its_reply_leaves_nothing_for_the_next(link, redis_conn):
    waiting = asyncio.ensure_future(link.exchange([("BLPOP", "late", 5)]))
    await asyncio.sleep(0.1)  # blocked in Redis by now
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    redis_conn.rpush("late", "a reply nobody waits for any more")
    redis_conn.set("k", "v")

    assert await link.exchange([("GET", "k")]) == [b"v"]


@pytest.mark.asyncio
async def test_a_link_whose_connection_was_lost_raises_then_connects_again(link, redis_conn):
    [client_id] = await link.exchange([("CLIENT", "ID")])
    waiting = asyncio.ensure_future(link.exchange([("BLPOP", "late", 5)]))
    await asyncio.sleep(0.1)  # blocked in Redis by now

    redis_conn.client_kill_filter(_id=client_id)
    with pytest.raises(redis.exceptions.ConnectionError):
        await waiting

    assert await link.exchange([("PING",)]) == [b"PONG"]


def flush(redis_conn, batch: CommandBatch, held: lease.Lease) -> tuple[int, list[str]]:
    """A flush as the engine sends it (synchronously here): its reply read as the engine does."""
    try:
        reply = redis_conn.execute_command(*batch.fenced(held))
    except ResponseError as exc:
        reply = exc
    return flush_result(reply)


def test_a_flush_under_the_lease_makes_its_writes_and_renews_the_lease(redis_conn):
    held = take_lease()
    redis_conn.pexpire(lease.LEASE_KEY, 100)
    batch = CommandBatch()
    batch.set("k", "v")
    batch.lpush("list", "a", "b")

    flush(redis_conn, batch, held)

    assert (redis_conn.get("k"), redis_conn.lrange("list", 0, -1)) == (b"v", [b"b", b"a"])
    assert redis_conn.pttl(lease.LEASE_KEY) > 4_000  # the lease's 5 s again


def test_a_flush_of_an_engine_whose_lease_another_took_writes_nothing(redis_conn):
    paused = take_lease()
    redis_conn.delete(lease.LEASE_KEY)  # expired while the engine was paused
    successor = lease.acquire(get_redis(), ttl_s=5)
    batch = CommandBatch()
    batch.set("k", "v")

    with pytest.raises(lease.LeaseLost, match="held by"):
        flush(redis_conn, batch, paused)

    assert redis_conn.get("k") is None
    assert redis_conn.get(lease.LEASE_KEY).decode() == successor.token


def test_a_lease_that_expired_with_nobody_taking_it_is_taken_back_by_the_next_flush(redis_conn):
    held = take_lease()
    redis_conn.delete(lease.LEASE_KEY)
    batch = CommandBatch()
    batch.set("k", "v")

    flush(redis_conn, batch, held)

    assert redis_conn.get("k") == b"v"
    assert redis_conn.get(lease.LEASE_KEY).decode() == held.token


def test_a_flush_into_a_redis_that_lost_its_data_writes_nothing(redis_conn):
    held = take_lease()
    redis_conn.flushdb()
    batch = CommandBatch()
    batch.set("k", "v")

    with pytest.raises(lease.LeaseLost, match="taken since"):
        flush(redis_conn, batch, held)

    assert redis_conn.get("k") is None


def test_a_write_redis_refuses_fails_the_flush(redis_conn):
    held = take_lease()
    redis_conn.set("list", "not a list")
    batch = CommandBatch()
    batch.lpush("list", "a")

    with pytest.raises(FlushFailed, match="WRONGTYPE"):
        flush(redis_conn, batch, held)


def test_a_flush_pushes_thousands_of_values_to_one_list(redis_conn):
    # Beyond what one Lua unpack() can hand to a single LPUSH (8,000 values).
    held = take_lease()
    batch = CommandBatch()
    batch.lpush("list", *range(9_000))

    flush(redis_conn, batch, held)

    assert redis_conn.llen("list") == 9_000
    assert redis_conn.lrange("list", 0, 1) == [b"8999", b"8998"]


def test_a_sorted_set_keeps_its_highest_scores_and_expires_after_its_last_write(redis_conn):
    held = take_lease()
    batch = CommandBatch()
    batch.scored("recent", [(score, f"m{score}") for score in range(5_000)], kept=3, ttl_s=60)

    flush(redis_conn, batch, held)

    assert redis_conn.zrange("recent", 0, -1, withscores=True) == [
        (b"m4997", 4997),
        (b"m4998", 4998),
        (b"m4999", 4999),
    ]
    assert 0 < redis_conn.ttl("recent") <= 60


def test_a_persistence_batch_lands_in_the_outbox_and_its_entry_id_comes_back(redis_conn):
    held = take_lease()
    batch = CommandBatch()
    batch.outbox("outbox", b"payload", {"n": 7, "replay_from": "5-0"})

    _failed, [entry_id] = flush(redis_conn, batch, held)

    assert redis_conn.xrange("outbox") == [(entry_id.encode(), {b"n": b"7", b"replay_from": b"5-0"})]
    assert redis_conn.get(f"outbox:{entry_id}") == b"payload"


def test_the_command_log_is_trimmed_forward_only_and_the_trim_point_recorded(redis_conn):
    held = take_lease()
    for i in range(1, 6):
        redis_conn.xadd(COMMAND_STREAM, {"cmd": "{}"}, id=f"{i}-0")
    forward, back = CommandBatch(), CommandBatch()
    forward.trim(COMMAND_STREAM, LOG_KEY, "3-0")
    back.trim(COMMAND_STREAM, LOG_KEY, "2-0")

    flush(redis_conn, forward, held)
    flush(redis_conn, back, held)

    assert [i for i, _ in redis_conn.xrange(COMMAND_STREAM)] == [b"3-0", b"4-0", b"5-0"]
    assert redis_conn.hget(LOG_KEY, "trimmed_to") == b"3-0"
