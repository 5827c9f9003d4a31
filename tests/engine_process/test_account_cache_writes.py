"""A flush's account writes (open orders and balances of every account it touched) go to Redis
as one command, and land exactly as separate HSETs and HDELs would."""

from __future__ import annotations

import json

import pytest

from contract import md_cache
from engine.redis_batch import CommandBatch
from tests.conftest import take_lease

pytestmark = pytest.mark.services


def write(redis_conn, open_orders: dict, balances: dict) -> None:
    """As a flush does: queued in a ``CommandBatch``, run as one fenced script."""
    batch = CommandBatch()
    md_cache.write_accounts(batch, open_orders, balances)
    redis_conn.execute_command(*batch.fenced(take_lease()))


def open_order_ids(redis_conn, account: int) -> set[str]:
    return {k.decode() for k in redis_conn.hkeys(md_cache.open_orders_key(account))}


def test_each_account_gets_its_own_orders_upserted_and_removed_and_its_balances_replaced(redis_conn):
    write(redis_conn, {7: ({"1": {"id": "1"}, "2": {"id": "2"}}, []), 8: ({"3": {"id": "3"}}, [])}, {})

    write(
        redis_conn,
        {7: ({"2": {"id": "2", "status": "PartiallyFilled"}}, ["1"]), 8: ({}, ["3"])},
        {7: {"USD": {"available": "5", "locked": "1", "staked": "0"}}},
    )

    assert json.loads(redis_conn.hget(md_cache.open_orders_key(7), "2")) == {
        "id": "2",
        "status": "PartiallyFilled",
    }
    assert open_order_ids(redis_conn, 7) == {"2"}
    assert open_order_ids(redis_conn, 8) == set()
    assert md_cache.read_balances(redis_conn, 7) == {"USD": {"available": "5", "locked": "1", "staked": "0"}}
    assert md_cache.read_balances(redis_conn, 8) == {}


def test_a_balance_write_replaces_only_the_assets_it_names(redis_conn):
    write(redis_conn, {}, {7: {"USD": {"available": "5"}, "SOL": {"available": "2"}}})

    write(redis_conn, {}, {7: {"SOL": {"available": "1"}}})

    assert md_cache.read_balances(redis_conn, 7) == {"USD": {"available": "5"}, "SOL": {"available": "1"}}


def test_an_account_with_thousands_of_changes_in_one_flush_gets_them_all(redis_conn):
    # Beyond what one Lua unpack() can hand to a single HSET or HDEL (8,000 values).
    write(redis_conn, {7: ({str(i): {"id": str(i)} for i in range(9_000)}, [])}, {})

    write(
        redis_conn,
        {7: ({str(i): {"id": str(i)} for i in range(9_000, 14_000)}, [str(i) for i in range(8_500)])},
        {},
    )

    assert open_order_ids(redis_conn, 7) == {str(i) for i in range(8_500, 14_000)}
    assert json.loads(redis_conn.hget(md_cache.open_orders_key(7), "13999")) == {"id": "13999"}


def test_a_flush_that_changed_no_account_writes_nothing():
    batch = CommandBatch()

    md_cache.write_accounts(batch, {7: ({}, [])}, {})

    assert batch.args == []
