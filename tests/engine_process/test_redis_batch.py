"""The engine's hand-written round trips (``engine.redis_batch``) against the real Redis: one
reply per command, Redis's errors as values, and a connection cut off in the middle of an
exchange never carries its late replies into the next one."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
import redis.asyncio
import redis.exceptions
from django.conf import settings
from redis.exceptions import ResponseError

from engine.redis_batch import Link, transaction, transaction_error

pytestmark = [pytest.mark.services, pytest.mark.asyncio]


@pytest_asyncio.fixture
async def link(redis_conn):
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    yield Link(client)
    await client.aclose()


async def test_an_exchange_returns_one_reply_per_command_with_errors_as_values(link):
    set_reply, error, value = await link.exchange([("SET", "k", "v"), ("LPUSH", "k", "x"), ("GET", "k")])

    assert (set_reply, value) == (b"OK", b"v")
    assert isinstance(error, ResponseError) and str(error).startswith("WRONGTYPE")


async def test_a_transaction_error_is_the_command_that_failed_when_exec_ran_it(link, redis_conn):
    replies = await link.exchange(transaction([("SET", "k", "v"), ("LPUSH", "k", "x")]))

    assert str(transaction_error(replies)).startswith("WRONGTYPE")
    assert redis_conn.get("k") == b"v"  # EXEC runs the rest: nothing is rolled back


async def test_a_command_refused_when_queued_aborts_the_whole_transaction(link, redis_conn):
    replies = await link.exchange(transaction([("SET", "k", "v"), ("SET", "k")]))

    assert "wrong number of arguments" in str(transaction_error(replies))
    assert redis_conn.get("k") is None


async def test_a_transaction_without_errors_has_none(link):
    replies = await link.exchange(transaction([("SET", "k", "v"), ("GET", "k")]))

    assert transaction_error(replies) is None
    assert replies[-1] == [b"OK", b"v"]


async def test_an_exchange_cut_off_before_its_reply_leaves_nothing_for_the_next(link, redis_conn):
    waiting = asyncio.ensure_future(link.exchange([("BLPOP", "late", 5)]))
    await asyncio.sleep(0.1)  # blocked in Redis by now
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    redis_conn.rpush("late", "a reply nobody waits for any more")
    redis_conn.set("k", "v")

    assert await link.exchange([("GET", "k")]) == [b"v"]


async def test_a_transaction_that_a_watch_stopped_is_an_error(link, redis_conn):
    await link.exchange([("WATCH", "k")])
    redis_conn.set("k", "changed meanwhile")

    replies = await link.exchange(transaction([("SET", "k", "v")]))

    assert "did not run" in str(transaction_error(replies))
    assert redis_conn.get("k") == b"changed meanwhile"


async def test_a_link_whose_connection_was_lost_raises_then_connects_again(link, redis_conn):
    [client_id] = await link.exchange([("CLIENT", "ID")])
    waiting = asyncio.ensure_future(link.exchange([("BLPOP", "late", 5)]))
    await asyncio.sleep(0.1)  # blocked in Redis by now

    redis_conn.client_kill_filter(_id=client_id)
    with pytest.raises(redis.exceptions.ConnectionError):
        await waiting

    assert await link.exchange([("PING",)]) == [b"PONG"]
