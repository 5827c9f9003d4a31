"""/api/v1/trades (recent, from the engine's Redis cache) and /api/v1/trades/history (database)."""

from __future__ import annotations

import pytest

from history.models import Trade

from .conftest import push_trades

pytestmark = pytest.mark.django_db

T0_MS = 1752930545000


def wire_trade(trade_id: int) -> dict:
    """A trade as the engine caches it (``contract.wire.trade_rest``)."""
    return {
        "id": trade_id,
        "price": "140.5",
        "quantity": "2",
        "quoteQuantity": "281",
        "timestamp": T0_MS + trade_id,
        "isBuyerMaker": trade_id % 2 == 0,
    }


def store_trades(market, count: int) -> None:
    """Trades 1..count as the engine persists them: price 14050 + id ticks of 0.01, 200 lots of 0.01."""
    Trade.objects.bulk_create(
        Trade(
            market=market,
            trade_id=i,
            price=14050 + i,  # ticks of 0.01
            quantity=200,  # lots of 0.01 -> 2
            quote_quantity=281_000_000 + 2 * i * 10_000,  # USDC units (6 decimals)
            buyer_order_id=1000 + i,
            seller_order_id=2000 + i,
            is_buyer_maker=i % 2 == 0,
            ts=T0_MS + i,
            seq=i,
        )
        for i in range(1, count + 1)
    )


# --- recent trades -----------------------------------------------------------------------


def test_recent_trades_return_the_newest_100_by_default_newest_last(client, sol_usdc, md):
    push_trades(md, "SOL_USDC", [wire_trade(i) for i in range(1, 151)])

    body = client.get("/api/v1/trades", {"symbol": "SOL_USDC"}).json()

    assert [t["id"] for t in body] == list(range(51, 151))


def test_recent_trades_are_rendered_as_cached(client, sol_usdc, md):
    push_trades(md, "SOL_USDC", [wire_trade(7)])

    assert client.get("/api/v1/trades", {"symbol": "SOL_USDC"}).json() == [wire_trade(7)]


def test_recent_trades_limit_returns_that_many_newest(client, sol_usdc, md):
    push_trades(md, "SOL_USDC", [wire_trade(i) for i in range(1, 11)])

    body = client.get("/api/v1/trades", {"symbol": "SOL_USDC", "limit": "3"}).json()

    assert [t["id"] for t in body] == [8, 9, 10]


def test_recent_trades_of_a_market_that_never_traded_are_empty(client, sol_usdc):
    assert client.get("/api/v1/trades", {"symbol": "SOL_USDC"}).json() == []


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_recent_trades_limit_outside_1_to_1000_is_invalid_client_request(client, sol_usdc, limit):
    response = client.get("/api/v1/trades", {"symbol": "SOL_USDC", "limit": limit})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_recent_trades_of_an_unknown_symbol_are_invalid_symbol(client, sol_usdc):
    response = client.get("/api/v1/trades", {"symbol": "XYZ_USDC"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_recent_trades_make_no_database_query_once_the_market_is_known(
    client, sol_usdc, md, django_assert_num_queries
):
    push_trades(md, "SOL_USDC", [wire_trade(1)])
    client.get("/api/v1/trades", {"symbol": "SOL_USDC"})

    with django_assert_num_queries(0):
        client.get("/api/v1/trades", {"symbol": "SOL_USDC"})


# --- trade history ----------------------------------------------------------------------


def test_trade_history_renders_integers_as_the_wire_trade(client, sol_usdc):
    store_trades(sol_usdc, 1)

    assert client.get("/api/v1/trades/history", {"symbol": "SOL_USDC"}).json() == [
        {
            "id": 1,
            "price": "140.51",
            "quantity": "2",
            "quoteQuantity": "281.02",
            "timestamp": T0_MS + 1,
            "isBuyerMaker": False,
        }
    ]


def test_trade_history_returns_the_newest_100_by_default_newest_last(client, sol_usdc):
    store_trades(sol_usdc, 150)

    body = client.get("/api/v1/trades/history", {"symbol": "SOL_USDC"}).json()

    assert [t["id"] for t in body] == list(range(51, 151))


def test_trade_history_offset_skips_the_newest_trades(client, sol_usdc):
    store_trades(sol_usdc, 20)

    body = client.get("/api/v1/trades/history", {"symbol": "SOL_USDC", "limit": "5", "offset": "10"}).json()

    assert [t["id"] for t in body] == [6, 7, 8, 9, 10]


def test_trade_history_offset_past_the_oldest_trade_is_empty(client, sol_usdc):
    store_trades(sol_usdc, 3)

    assert client.get("/api/v1/trades/history", {"symbol": "SOL_USDC", "offset": "3"}).json() == []


def test_trade_history_only_has_the_requested_markets_trades(client, sol_usdc, btc_usdc):
    store_trades(btc_usdc, 5)

    assert client.get("/api/v1/trades/history", {"symbol": "SOL_USDC"}).json() == []


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}, {"offset": "a"}])
def test_trade_history_bad_limit_or_offset_is_invalid_client_request(client, sol_usdc, query):
    response = client.get("/api/v1/trades/history", {"symbol": "SOL_USDC", **query})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_trade_history_of_an_unknown_symbol_is_invalid_symbol(client, sol_usdc):
    response = client.get("/api/v1/trades/history", {"symbol": "XYZ_USDC"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_trade_history_takes_two_queries_whatever_the_page_size(client, sol_usdc, django_assert_num_queries):
    store_trades(sol_usdc, 1000)

    with django_assert_num_queries(2):  # the market (first use in this process), the page
        response = client.get("/api/v1/trades/history", {"symbol": "SOL_USDC", "limit": "1000"})

    assert len(response.json()) == 1000


def test_trade_history_takes_one_query_once_the_market_is_known(client, sol_usdc, django_assert_num_queries):
    store_trades(sol_usdc, 10)
    client.get("/api/v1/trades/history", {"symbol": "SOL_USDC"})

    with django_assert_num_queries(1):
        client.get("/api/v1/trades/history", {"symbol": "SOL_USDC"})
