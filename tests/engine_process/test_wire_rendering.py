"""Rendering engine integers as wire decimals: the same text every time, whether rendered anew or
remembered, and the memory of rendered values stays bounded."""

from __future__ import annotations

from decimal import Decimal

from engine import wire


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
