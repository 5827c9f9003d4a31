"""Exact decimal <-> integer conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.core import units


def test_price_to_ticks_and_back():
    assert units.to_ticks("140.55", "0.01") == 14055
    assert units.from_ticks(14055, "0.01") == "140.55"
    assert units.from_ticks(14050, "0.01") == "140.5"
    assert units.from_ticks(14050, "0.01", places=2) == "140.50"


def test_quantity_to_lots_and_back():
    assert units.to_lots("1.5", "0.01") == 150
    assert units.from_lots(150, "0.01") == "1.5"
    assert units.to_lots("3", "0.5") == 6


def test_asset_units_round_trip():
    assert units.to_units("50", 6) == 50_000_000
    assert units.from_units(50_000_000, 6) == "50"
    assert units.from_units(1, 9) == "0.000000001"
    assert units.from_units(0, 6) == "0"
    assert units.to_units("0.000000001", 9) == 1


def test_off_grid_values_raise_value_error():
    with pytest.raises(ValueError):
        units.to_ticks("140.555", "0.01")
    with pytest.raises(ValueError):
        units.to_lots("0.25", "0.5")
    with pytest.raises(ValueError):
        units.to_units("0.0000001", 6)


def test_only_plain_finite_decimals_are_accepted():
    for bad in ("1e5", "NaN", "Infinity", " 1", "1,000", "", "0x10", 1.5, True, None):
        with pytest.raises(ValueError):
            units.parse_decimal(bad)
    assert units.parse_decimal("-.5") == Decimal("-0.5")
    assert units.parse_decimal(7) == Decimal(7)


def test_format_never_uses_an_exponent():
    assert units.format_decimal(Decimal("1E+3")) == "1000"
    assert units.format_decimal(Decimal("0.00000001")) == "0.00000001"
    assert units.format_decimal(Decimal("-0")) == "0"
    with pytest.raises(ValueError):
        units.format_decimal(Decimal("1.234"), places=2)


def test_market_unit_factors():
    assert units.base_per_lot("0.01", 9) == 10**7
    assert units.quote_per_tick_lot("0.01", "0.01", 6) == 100
    with pytest.raises(ValueError):
        units.base_per_lot("0.01", 1)  # 0.1 unit per lot
    with pytest.raises(ValueError):
        units.quote_per_tick_lot("0.01", "0.01", 3)  # 0.1 unit
    with pytest.raises(ValueError):
        units.base_per_lot("0", 9)


def test_places_of_a_step():
    assert units.places_of("0.010") == 2
    assert units.places_of("5") == 0


def test_notional_and_fee_round_down():
    assert units.notional(14055, 150, 100) == 210_825_000
    assert units.fee(1999, 10) == 1
    assert units.fee(9999, 1) == 0


def test_huge_values_stay_exact():
    assert units.to_units("123456789012345678901234567890.123456", 6) == 123456789012345678901234567890123456
    assert (
        units.from_units(123456789012345678901234567890123456, 6) == "123456789012345678901234567890.123456"
    )
