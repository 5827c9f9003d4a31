"""/api/v1/assets, /api/v1/markets, /api/v1/market, /api/v1/securities."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from markets.models import Asset, Market

pytestmark = pytest.mark.django_db


def test_assets_lists_every_asset_by_symbol_with_display_name_and_empty_tokens(client, sol, usdc, btc):
    response = client.get("/api/v1/assets")

    assert response.status_code == 200
    assert response.json() == [
        {"symbol": "BTC", "displayName": "Bitcoin", "tokens": []},
        {"symbol": "SOL", "displayName": "Solana", "tokens": []},
        {"symbol": "USDC", "displayName": "USD Coin", "tokens": []},
    ]


def test_assets_are_publicly_cacheable_for_a_minute(client, sol):
    response = client.get("/api/v1/assets")

    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_assets_take_one_query_whatever_their_number(client, django_assert_num_queries):
    Asset.objects.bulk_create(Asset(symbol=f"A{i}", display_name=f"Asset {i}", decimals=6) for i in range(30))

    with django_assert_num_queries(1):
        response = client.get("/api/v1/assets")

    assert len(response.json()) == 30


def test_markets_render_a_market_object_with_plain_decimal_filters(client, sol_usdc):
    Market.objects.filter(pk=sol_usdc.pk).update(
        created_at=datetime(2025, 7, 19, 13, 9, 5, 123456, tzinfo=UTC)
    )

    response = client.get("/api/v1/markets")

    assert response.status_code == 200
    assert response.json() == [
        {
            "symbol": "SOL_USDC",
            "baseSymbol": "SOL",
            "quoteSymbol": "USDC",
            "marketType": "SPOT",
            "orderBookState": "Open",
            "createdAt": "2025-07-19T13:09:05.123",
            "filters": {
                "price": {"tickSize": "0.01", "minPrice": "0.01", "maxPrice": "1000000"},
                "quantity": {"stepSize": "0.01", "minQuantity": "0.01", "maxQuantity": "100000"},
            },
        }
    ]


def test_markets_never_render_an_exponent_for_tiny_steps(client, btc_usdc):
    Market.objects.filter(pk=btc_usdc.pk).update(
        step_size=Decimal("0.00000001"), min_quantity=Decimal("0.00000001")
    )

    quantity = client.get("/api/v1/markets").json()[0]["filters"]["quantity"]

    assert quantity == {"stepSize": "0.00000001", "minQuantity": "0.00000001", "maxQuantity": "1000"}


def test_markets_report_the_order_book_state(client, sol_usdc):
    Market.objects.filter(pk=sol_usdc.pk).update(state=Market.State.CLOSED)

    assert client.get("/api/v1/markets").json()[0]["orderBookState"] == "Closed"


def test_markets_are_ordered_by_symbol(client, sol_usdc, btc_usdc):
    assert [m["symbol"] for m in client.get("/api/v1/markets").json()] == ["BTC_USDC", "SOL_USDC"]


def test_markets_take_one_query_whatever_their_number(client, twenty_markets, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/api/v1/markets")

    assert len(response.json()) == 20


def test_markets_are_publicly_cacheable_for_ten_seconds(client, sol_usdc):
    assert client.get("/api/v1/markets").headers["Cache-Control"] == "public, max-age=10"


def test_market_returns_the_one_market_object(client, sol_usdc, btc_usdc):
    response = client.get("/api/v1/market", {"symbol": "BTC_USDC"})

    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "BTC_USDC"
    assert body["filters"] == {
        "price": {"tickSize": "0.1", "minPrice": "0.1", "maxPrice": "10000000"},
        "quantity": {"stepSize": "0.00001", "minQuantity": "0.00001", "maxQuantity": "1000"},
    }


def test_market_of_an_unknown_symbol_is_invalid_symbol(client, sol_usdc):
    response = client.get("/api/v1/market", {"symbol": "DOGE_USDC"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_SYMBOL",
        "message": "Invalid symbol: 'DOGE_USDC' is not a market",
    }


def test_market_with_an_empty_symbol_is_a_missing_parameter(client, sol_usdc):
    response = client.get("/api/v1/market?symbol=")

    assert response.json()["code"] == "INVALID_CLIENT_REQUEST"


def test_securities_is_an_empty_array(client, db):
    response = client.get("/api/v1/securities")

    assert response.status_code == 200
    assert response.json() == []


def test_a_format_parameter_is_ignored_like_any_unknown_one(client, sol_usdc):
    """The wire has no ``format`` parameter: DRF's format override would answer 404 for any
    value it has no renderer for."""
    response = client.get("/api/v1/markets", {"format": "xml"})

    assert response.status_code == 200
    assert [m["symbol"] for m in response.json()] == ["SOL_USDC"]
