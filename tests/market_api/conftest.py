"""Fixtures of the public market-data API tests: reference data in the database, and the
engine's Redis market-data cache written with the engine's own writers (the real format)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis

from contract import jsonfast, md_cache
from exchange_site.redis_client import get_redis
from history import persistence
from markets import selectors
from markets.models import Asset, Market

from ..conftest import make_market
from ..persistence.factory import Events

SYMBOLS = ("SOL_USDC", "BTC_USDC", "ETH_USDC")


def _forget_cache_keys(client: redis.Redis) -> None:
    keys = [
        k for s in SYMBOLS for k in (md_cache.depth_key(s), md_cache.ticker_key(s), md_cache.trades_key(s))
    ]
    client.delete(*keys)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test starts with no cached market formats and no market-data keys of its markets.
    Only these keys are deleted (never FLUSHDB): other suites may share the Redis database."""
    selectors.clear_market_cache()
    _forget_cache_keys(get_redis())
    yield
    selectors.clear_market_cache()
    _forget_cache_keys(get_redis())


@pytest.fixture
def md() -> redis.Redis:
    return get_redis()


def write_depth(md: redis.Redis, symbol: str, snapshot: dict) -> None:
    with md.pipeline(transaction=True) as pipe:
        md_cache.write_depth(pipe, symbol, jsonfast.dumps(snapshot))
        pipe.execute()


def write_ticker(md: redis.Redis, symbol: str, ticker: dict) -> None:
    with md.pipeline(transaction=True) as pipe:
        md_cache.write_ticker(pipe, symbol, ticker)
        pipe.execute()


def push_trades(md: redis.Redis, symbol: str, trades: list[dict]) -> None:
    with md.pipeline(transaction=True) as pipe:
        md_cache.push_trades(pipe, symbol, trades)
        pipe.execute()


@pytest.fixture
def btc_usdc(btc: Asset, usdc: Asset) -> Market:
    return make_market(
        "BTC_USDC",
        btc,
        usdc,
        tick_size=Decimal("0.1"),
        step_size=Decimal("0.00001"),
        min_price=Decimal("0.1"),
        max_price=Decimal("10000000"),
        min_quantity=Decimal("0.00001"),
        max_quantity=Decimal("1000"),
    )


@pytest.fixture
def twenty_markets(sol: Asset, usdc: Asset) -> None:
    """Markets M0_USDC to M19_USDC, in the database only."""
    for i in range(20):
        make_market(f"M{i}_USDC", sol, usdc)


@pytest.fixture
def populated_exchange(sol_usdc, btc_usdc, md):
    """Markets with something in every source, so fuzzed requests that name a real market
    run through the whole read path, not just the symbol check."""
    write_depth(
        md,
        "SOL_USDC",
        {
            "bids": [["139.9", "1"], ["140", "2"]],
            "asks": [["140.1", "3"]],
            "lastUpdateId": "7",
            "timestamp": 1,
        },
    )
    write_ticker(
        md,
        "SOL_USDC",
        {
            "symbol": "SOL_USDC",
            "firstPrice": "139",
            "lastPrice": "140",
            "high": "141",
            "low": "138",
            "volume": "10",
            "quoteVolume": "1400",
            "priceChange": "1",
            "priceChangePercent": "0.007194",
            "trades": "4",
        },
    )
    push_trades(
        md,
        "SOL_USDC",
        [
            {
                "id": 1,
                "price": "140",
                "quantity": "1",
                "quoteQuantity": "140",
                "timestamp": 1,
                "isBuyerMaker": True,
            },
        ],
    )
    # One trade in the history, with its candles, as the persistence worker writes them.
    persistence.persist_events([Events().trade(1, 1_752_930_545_000, 14_000, 100, is_buyer_maker=True)])
