"""At start the engine writes its whole state into the market-data cache before it serves: what
the cache held may be ahead of the state (commands lost with a Redis that lost its data, a state
rebuilt from the database) or behind it, and the API serves the cache."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio
from django.conf import settings

from contract import md_cache
from engine.process import EngineProcess
from history.outbox import outbox
from tests.conftest import take_lease
from tests.engine_core.helpers import BUYER, SELLER, SYM, Harness

pytestmark = pytest.mark.services


@pytest.fixture
def started(redis_conn, tmp_path, gc_state_restored):
    """Run an engine holding ``h``'s state until it is ready, then stop it."""

    def start(h: Harness) -> None:
        async def run() -> None:
            conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
            process = EngineProcess(conn, None, take_lease(), lambda *handed: None, tmp_path, outbox=outbox())
            process.engine = h.e
            process.stopping.set()  # stop right after writing the state
            await process.run()
            await conn.aclose()

        asyncio.run(run())

    return start


def test_the_cache_gets_every_account_and_book_of_the_state(started, redis_conn):
    h = Harness(fund=False)  # tick, step and units all 1; fees 10 and 20 bps
    h.deposit(BUYER, "USD", 10_000)
    h.buy(BUYER, 100, 3)
    redis_conn.hset(md_cache.balances_key(BUYER), "USD", json.dumps({"available": "1"}))  # behind

    started(h)

    balances = md_cache.read_balances(redis_conn, BUYER)
    assert balances["USD"] == {"available": "9700", "locked": "300", "staked": "0"}
    [order] = md_cache.read_open_orders(redis_conn, BUYER)
    assert (order["price"], order["quantity"], order["status"]) == ("100", "3", "New")
    depth = md_cache.read_depth(redis_conn, SYM)
    assert (depth["bids"], depth["asks"], depth["lastUpdateId"]) == ([["100", "3"]], [], "1")


def test_accounts_and_trades_the_state_does_not_know_leave_the_cache(started, redis_conn):
    h = Harness(fund=False)
    h.deposit(SELLER, "SOL", 1_000)
    redis_conn.hset(md_cache.balances_key(999), "USD", json.dumps({"available": "5"}))
    redis_conn.hset(md_cache.open_orders_key(999), "7", json.dumps({"id": "7"}))
    redis_conn.lpush(md_cache.trades_key(SYM), json.dumps({"id": 50}))  # beyond the state's 0

    started(h)

    assert not redis_conn.exists(md_cache.balances_key(999), md_cache.open_orders_key(999))
    assert not redis_conn.exists(md_cache.trades_key(SYM))
    assert md_cache.read_balances(redis_conn, SELLER)["SOL"]["available"] == "1000"


def test_recent_history_newer_than_the_state_leaves_the_cache_and_the_rest_stays(started, redis_conn):
    h = Harness(fund=False)
    h.deposit(BUYER, "USD", 10_000)
    h.buy(BUYER, 100, 3)
    last_seq = h.e.last_seq
    known, ahead = (
        json.dumps({"ts": 1, "fill": {"tradeId": 1}}),
        json.dumps({"ts": 2, "fill": {"tradeId": 2}}),
    )
    redis_conn.zadd(md_cache.recent_fills_key(BUYER), {known: last_seq, ahead: last_seq + 1})
    redis_conn.zadd(md_cache.recent_orders_key(999), {known: 1})  # an account the state does not know

    started(h)

    _orders, fills = md_cache.read_recent_history(redis_conn, BUYER)
    assert fills == [(last_seq, {"ts": 1, "fill": {"tradeId": 1}})]
    assert not redis_conn.exists(md_cache.recent_orders_key(999))
