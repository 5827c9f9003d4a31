"""End to end: orders placed through the real engine process trade; a real Celery worker
persists what the engine sends it; the trade shows up in the database and in /api/v1/klines."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection

from engine.client import submit
from engine.core.messages import PlaceOrder
from history.models import Fill, LedgerEntry, Order, Trade, Transfer

from .conftest import wait_until

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="engine and worker subprocesses share the test database on a server",
)


def test_a_trade_through_the_engine_reaches_the_database_and_the_klines(
    engine_worker, demo_markets, make_funded_user, client, redis_conn
):
    pubsub = redis_conn.pubsub()
    pubsub.subscribe("kline.1m.SOL_USDC")
    seller, buyer = make_funded_user("seller", SOL="10"), make_funded_user("buyer", USDC="10000")
    # SOL_USDC: tick 0.01, step 0.01; maker 2 bps, taker 5 bps.
    ask = submit(PlaceOrder(ts=0, account=seller.pk, market="SOL_USDC", side="Ask", order_type="Limit",
                            quantity=150, price=14_055))  # fmt: skip
    bid = submit(PlaceOrder(ts=0, account=buyer.pk, market="SOL_USDC", side="Bid", order_type="Limit",
                            quantity=150, price=14_100))  # fmt: skip
    trade = next(e for e in bid if e["type"] == "Trade")

    wait_until(lambda: Trade.objects.exists(), 30, "the trade in the database", engine_worker.log)
    wait_until(
        lambda: Order.objects.filter(status="Filled").count() == 2,
        10,
        "both orders filled",
        engine_worker.log,
    )
    assert list(
        Trade.objects.values_list("trade_id", "price", "quantity", "quote_quantity", "is_buyer_maker")
    ) == [(1, 14_055, 150, 210_825_000, False)]
    assert sorted(Fill.objects.values_list("user_id", "is_maker", "fee")) == sorted(
        [(seller.pk, True, 42_165), (buyer.pk, False, 105_412)]
    )
    assert Transfer.objects.filter(kind="deposit").count() == 2
    assert LedgerEntry.objects.get(account=0).amount == 42_165 + 105_412
    assert ask[0]["type"] == "OrderAccepted"

    start_s = trade["ts"] // 1000 // 60 * 60
    wait_until(
        lambda: client.get(f"/api/v1/klines?symbol=SOL_USDC&interval=1m&startTime={start_s}").json(),
        10,
        "a kline",
        engine_worker.log,
    )
    response = client.get(f"/api/v1/klines?symbol=SOL_USDC&interval=1m&startTime={start_s}")
    assert response.status_code == 200
    assert response.json() == [
        {
            "start": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start_s)),
            "end": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start_s + 60)),
            "open": "140.55",
            "high": "140.55",
            "low": "140.55",
            "close": "140.55",
            "volume": "1.5",
            "quoteVolume": "210.825",
            "trades": "1",
        }
    ]

    # The worker published the open 1m candle on pub/sub (and the channel layer) as a kline.
    message = wait_until(
        lambda: pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2), 10, "a kline"
    )
    data = json.loads(message["data"])
    # The open candle's frame, or its final one (X true) if the minute ended before the worker
    # wrote the trade: the engine then closes the candle and no open frame is published.
    assert data["X"] is False or time.time() >= start_s + 60
    assert {k: v for k, v in data.items() if k not in ("E", "X")} == {
        "e": "kline", "s": "SOL_USDC",
        "t": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_s)),
        "T": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_s + 60)),
        "o": "140.55", "h": "140.55", "l": "140.55", "c": "140.55", "v": "1.5", "n": 1,
    }  # fmt: skip
    pubsub.close()
