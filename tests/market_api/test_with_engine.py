"""The public market-data endpoints fed by the real engine (``manage.py run_engine`` as a
subprocess): what the engine publishes to its Redis cache is what the REST API serves.

SOL_USDC as ``seed_demo`` makes it: tick 0.01 (price 14000 = 140.00), step 0.01 (quantity
100 = 1 SOL), maker 2 bps, taker 5 bps.
"""

from __future__ import annotations

import pytest

from tests.conftest import place, wait_until

pytestmark = pytest.mark.services


def test_depth_serves_the_engines_book_with_the_update_id_of_its_last_change(client, traders):
    maker, _ = traders
    place(maker, "Bid", 13990, 100)
    place(maker, "Bid", 13995, 200)
    place(maker, "Ask", 14010, 150)
    place(maker, "Bid", 13990, 50)  # a fourth change: the 139.9 level grows

    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC"}).json()

    assert (body["bids"], body["asks"], body["lastUpdateId"]) == (
        [["139.9", "1.5"], ["139.95", "2"]],
        [["140.1", "1.5"]],
        "4",
    )


def test_depth_limit_cuts_the_engines_book_from_the_best_price(client, traders):
    maker, _ = traders
    for price in (13980, 13990, 14000):
        place(maker, "Bid", price, 100)
    for price in (14010, 14020, 14030):
        place(maker, "Ask", price, 100)

    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "2"}).json()

    assert (body["bids"], body["asks"]) == ([["139.9", "1"], ["140", "1"]], [["140.1", "1"], ["140.2", "1"]])


def test_a_trade_through_the_engine_is_served_as_the_newest_recent_trade(client, traders):
    maker, taker = traders
    place(maker, "Ask", 14025, 150)
    events = place(taker, "Bid", 14030, 100)
    trade = next(e for e in events if e["type"] == "Trade")

    assert client.get("/api/v1/trades", {"symbol": "SOL_USDC"}).json() == [
        {
            "id": 1,
            "price": "140.25",
            "quantity": "1",
            "quoteQuantity": "140.25",
            "timestamp": trade["ts"],
            "isBuyerMaker": False,
        }
    ]


def test_the_ticker_counts_a_trade_through_the_engine(client, traders):
    maker, taker = traders
    place(maker, "Ask", 14025, 150)
    place(taker, "Bid", 14030, 100)

    # The engine pushes tickers at most once a second: wait for it.
    ticker = wait_until(
        lambda: (t := client.get("/api/v1/ticker", {"symbol": "SOL_USDC"}).json())["trades"] != "0" and t,
        5,
        "the ticker to count the trade",
    )

    assert ticker == {
        "symbol": "SOL_USDC",
        "firstPrice": "140.25",
        "lastPrice": "140.25",
        "high": "140.25",
        "low": "140.25",
        "volume": "1",
        "quoteVolume": "140.25",
        "priceChange": "0",
        "priceChangePercent": "0",
        "trades": "1",
    }
