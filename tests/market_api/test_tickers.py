"""/api/v1/ticker and /api/v1/tickers: rolling 24 h tickers from the engine's Redis cache."""

from __future__ import annotations

import pytest

from markets import selectors
from markets.models import Market

from .conftest import make_market, write_ticker

pytestmark = pytest.mark.django_db

SOL_TICKER = {
    "symbol": "SOL_USDC", "firstPrice": "138.2", "lastPrice": "140.07", "high": "141.5", "low": "137.9",
    "volume": "1520.25", "quoteVolume": "212345.678901", "priceChange": "1.87",
    "priceChangePercent": "0.013531", "trades": "317",
}  # fmt: skip


def zero_ticker(symbol: str) -> dict:
    """The ticker of a market that never traded: every figure 0."""
    figures = "firstPrice lastPrice high low volume quoteVolume priceChange priceChangePercent trades".split()
    return {"symbol": symbol, **dict.fromkeys(figures, "0")}


def test_ticker_returns_the_cached_ticker(client, sol_usdc, md):
    write_ticker(md, "SOL_USDC", SOL_TICKER)

    response = client.get("/api/v1/ticker", {"symbol": "SOL_USDC"})

    assert response.status_code == 200
    assert response.json() == SOL_TICKER


def test_ticker_of_a_market_that_never_traded_is_all_zeros(client, sol_usdc):
    assert client.get("/api/v1/ticker", {"symbol": "SOL_USDC"}).json() == zero_ticker("SOL_USDC")


def test_ticker_of_an_unknown_symbol_is_invalid_symbol(client, sol_usdc):
    response = client.get("/api/v1/ticker", {"symbol": "NOPE_USDC"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_ticker_without_a_symbol_is_invalid_client_request(client, sol_usdc):
    response = client.get("/api/v1/ticker")

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_ticker_is_not_cacheable(client, sol_usdc):
    assert client.get("/api/v1/ticker", {"symbol": "SOL_USDC"}).headers["Cache-Control"] == "no-store"


def test_tickers_return_one_ticker_per_market_by_symbol_zero_where_never_traded(
    client, sol_usdc, btc_usdc, md
):
    write_ticker(md, "SOL_USDC", SOL_TICKER)

    response = client.get("/api/v1/tickers")

    assert response.status_code == 200
    assert response.json() == [zero_ticker("BTC_USDC"), SOL_TICKER]


def test_tickers_of_no_markets_are_an_empty_array(client, db):
    assert client.get("/api/v1/tickers").json() == []


def test_tickers_take_one_query_whatever_the_number_of_markets(
    client, twenty_markets, django_assert_num_queries
):
    with django_assert_num_queries(1):
        response = client.get("/api/v1/tickers")

    assert len(response.json()) == 20


def test_tickers_make_no_query_while_the_market_list_is_fresh(client, sol_usdc, django_assert_num_queries):
    client.get("/api/v1/tickers")

    with django_assert_num_queries(0):
        client.get("/api/v1/tickers")


def test_tickers_list_a_market_saved_in_this_process_at_once(client, sol_usdc, btc, usdc):
    client.get("/api/v1/tickers")
    make_market("BTC_USDC", btc, usdc)

    assert [t["symbol"] for t in client.get("/api/v1/tickers").json()] == ["BTC_USDC", "SOL_USDC"]


def test_tickers_list_a_market_added_elsewhere_once_the_list_is_older_than_its_ttl(
    client, sol_usdc, btc, usdc, monkeypatch
):
    client.get("/api/v1/tickers")
    # bulk_create sends no signal: the same as a market added by another process.
    Market.objects.bulk_create([Market(symbol="BTC_USDC", base=btc, quote=usdc, **_limits(sol_usdc))])
    now = selectors._clock()

    assert len(client.get("/api/v1/tickers").json()) == 1
    monkeypatch.setattr(selectors, "_clock", lambda: now + selectors.MARKET_LIST_TTL_S)
    assert len(client.get("/api/v1/tickers").json()) == 2


def _limits(market: Market) -> dict:
    fields = ("tick_size", "step_size", "min_price", "max_price", "min_quantity", "max_quantity")
    return {f: getattr(market, f) for f in fields}
