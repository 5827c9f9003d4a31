"""``markets.selectors.market_format`` / ``get_market``: the per-process market cache others reuse."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contract.wire import MarketFormat
from exchange_site.api_errors import ApiError
from markets import selectors
from tests.conftest import make_market

pytestmark = pytest.mark.django_db


def test_market_format_is_built_from_the_market_and_its_assets(btc_usdc):
    assert selectors.market_format("BTC_USDC") == MarketFormat(
        symbol="BTC_USDC",
        base="BTC",
        quote="USDC",
        tick_size=Decimal("0.1"),
        step_size=Decimal("0.00001"),
        base_decimals=8,
        quote_decimals=6,
    )


def test_market_format_is_cached_after_the_first_lookup(sol_usdc, django_assert_num_queries):
    selectors.market_format("SOL_USDC")

    with django_assert_num_queries(0):
        selectors.market_format("SOL_USDC")


def test_saving_a_market_drops_the_cached_format(sol_usdc):
    selectors.market_format("SOL_USDC")
    sol_usdc.tick_size = Decimal("0.001")
    sol_usdc.save()

    assert selectors.market_format("SOL_USDC").tick_size == Decimal("0.001")


def test_saving_an_asset_drops_the_cached_format(sol_usdc, usdc):
    selectors.market_format("SOL_USDC")
    usdc.decimals = 2
    usdc.save()

    assert selectors.market_format("SOL_USDC").quote_decimals == 2


def test_market_format_of_an_unknown_symbol_raises_invalid_symbol(db):
    with pytest.raises(ApiError) as raised:
        selectors.market_format("SOL_USDC")

    assert (raised.value.code, raised.value.status_code) == ("INVALID_SYMBOL", 400)


def test_an_unknown_symbol_is_not_remembered_so_a_new_market_is_found(sol, usdc):
    with pytest.raises(ApiError):
        selectors.market_format("SOL_USDC")
    make_market("SOL_USDC", sol, usdc)

    assert selectors.market_format("SOL_USDC").symbol == "SOL_USDC"


def test_a_symbol_that_cannot_be_a_market_is_refused_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(ApiError) as raised:
        selectors.get_market("SOL USDC; DROP TABLE")

    assert raised.value.code == "INVALID_SYMBOL"


def test_get_market_loads_its_assets_in_the_same_query(sol_usdc, django_assert_num_queries):
    with django_assert_num_queries(1):
        market = selectors.get_market("SOL_USDC")
        assert (market.base.symbol, market.quote.symbol) == ("SOL", "USDC")


def test_market_id_is_the_database_id(sol_usdc):
    assert selectors.market_id("SOL_USDC") == sol_usdc.id
