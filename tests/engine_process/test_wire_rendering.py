"""Rendering engine integers as wire decimals: the same text every time, whether rendered anew or
remembered, and the memory of rendered values stays bounded."""

from __future__ import annotations

import json
import random
from decimal import Decimal

from engine import jsonfast, wire


def market_format() -> wire.MarketFormat:
    return wire.MarketFormat(
        symbol="SOL_USDC",
        base="SOL",
        quote="USDC",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        base_decimals=9,
        quote_decimals=6,
    )


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
