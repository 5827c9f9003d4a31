"""Rendering engine integers as wire decimals: the same text every time, whether rendered anew or
remembered, and the memory of rendered values stays bounded."""

from __future__ import annotations

import json
import random
from decimal import Decimal

from contract import jsonfast, wire


def market_format() -> wire.MarketFormat:
    return wire.MarketFormat(
        symbol="SOL_USDC", base="SOL", quote="USDC", tick_size=Decimal("0.01"), step_size=Decimal("0.001"),
        base_decimals=9, quote_decimals=6,
    )  # fmt: skip


def test_prices_quantities_and_quote_amounts_render_as_plain_decimals_again_and_again():
    fmt = market_format()
    for _ in range(2):  # the second time from memory
        assert [fmt.price(14250), fmt.price(100), fmt.price(1)] == ["142.5", "1", "0.01"]
        assert [fmt.quantity(1500), fmt.quantity(0)] == ["1.5", "0"]
        assert fmt.quote_amount(213_750_000) == "213.75"
        assert [fmt.price(None), fmt.quantity(None), fmt.quote_amount(None)] == [None, None, None]


def test_the_memory_of_rendered_values_is_bounded(monkeypatch):
    monkeypatch.setattr(wire, "RENDER_CACHE_MAX", 3)
    fmt = market_format()
    rendered = [fmt.price(p) for p in range(1, 8)]

    assert rendered == ["0.01", "0.02", "0.03", "0.04", "0.05", "0.06", "0.07"]
    assert len(fmt._prices) <= 3


def test_formats_that_render_the_same_compare_equal_whatever_they_remember():
    used = market_format()
    used.price(14250)
    assert used == market_format()


def test_a_depth_snapshot_is_both_sides_ascending_with_its_update_id_and_time():
    fmt = market_format()
    bids = [(14250, 1500), (14249, 2)]  # best first, as the book gives them
    asks = [(14251, 1000)]

    snapshot = wire.depth_snapshot(fmt, bids, asks, 77, 1_700_000_000_123_000)

    assert json.loads(snapshot) == {
        "bids": [["142.49", "0.002"], ["142.5", "1.5"]],
        "asks": [["142.51", "1"]],
        "lastUpdateId": "77",
        "timestamp": 1_700_000_000_123_000,
    }


def test_a_depth_snapshot_is_the_same_bytes_rendered_anew_or_from_memory(monkeypatch):
    monkeypatch.setattr(wire, "RENDER_CACHE_MAX", 50)  # cleared several times over
    fmt = market_format()
    rng = random.Random(5)
    for _ in range(30):
        bids = sorted(
            ((rng.randint(1, 60), rng.randint(1, 9)) for _ in range(rng.randint(0, 40))), reverse=True
        )
        asks = sorted((rng.randint(61, 120), rng.randint(1, 9)) for _ in range(rng.randint(0, 40)))
        expected = {
            "bids": fmt.levels(list(reversed(bids))),
            "asks": fmt.levels(asks),
            "lastUpdateId": "9",
            "timestamp": 123,
        }

        assert wire.depth_snapshot(fmt, bids, asks, 9, 123) == jsonfast.dumps(expected)
        assert len(fmt._level_texts) <= 50


def trigger_event(kind: str, status: str) -> dict:
    from engine.core import OrderTriggered, OrderTriggerFailed, event_to_dict

    cls = {"OrderTriggered": OrderTriggered, "OrderTriggerFailed": OrderTriggerFailed}[kind]
    extra = {"reason": "INSUFFICIENT_FUNDS"} if cls is OrderTriggerFailed else {}
    fields = dict(
        seq=9, ts=1_700_000_000_000, order_id=7, account=1, market="SOL_USDC", side="Bid",
        order_type="Limit", time_in_force="GTC", post_only=False, self_trade_prevention="RejectTaker",
        client_id=None, price=11000, quantity=1000, quote_quantity=None, executed_quantity=0,
        executed_quote_quantity=0, status=status, created_ts=1_699_999_999_000, fee_bps=5,
        trigger_price=10500, priority=12,
    )  # fmt: skip
    return event_to_dict(cls(**fields, **extra))


def test_a_trigger_order_shows_its_trigger_price_and_quantity():
    order = wire.order_object(market_format(), trigger_event("OrderTriggered", "New"))

    assert (order["triggerPrice"], order["triggerQuantity"], order["quantity"]) == ("105", "1", "1")


def test_trigger_events_are_trigger_placed_and_trigger_failed_on_the_order_update_stream():
    placed = wire.order_update_stream(market_format(), trigger_event("OrderTriggered", "New"))
    failed = wire.order_update_stream(market_format(), trigger_event("OrderTriggerFailed", "TriggerFailed"))

    assert [(placed["e"], placed["X"]), (failed["e"], failed["X"])] == [
        ("triggerPlaced", "New"),
        ("triggerFailed", "TriggerFailed"),
    ]
