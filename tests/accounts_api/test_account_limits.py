"""Backpack's account limits (``/api/v1/account/limits/...``) on a spot-only exchange: what the
account's available balance allows, against the real engine process. Markets are the demo ones:
SOL_USDC with tick 0.01 and step 0.01, maker fee 2 bps, taker fee 5 bps."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.services

ASK = {"symbol": "SOL_USDC", "side": "Ask", "orderType": "Limit"}
BID = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit"}
NO_MARGIN = {"autoBorrow": None, "autoBorrowRepay": None, "autoLendRedeem": None, "reduceOnly": None}


@pytest.fixture
def alice(engine_process, make_trader):
    return make_trader("alice")


@pytest.fixture
def bob(engine_process, make_trader, fund):
    """bob holds 10 SOL."""
    bob = make_trader("bob")
    fund(bob.user, "SOL", "10")
    return bob


def test_nothing_can_be_borrowed(alice):
    response = alice.api.get("/api/v1/account/limits/borrow", {"symbol": "USDC"})

    assert response.status_code == 200
    assert response.json() == {"maxBorrowQuantity": "0", "symbol": "USDC"}


def test_the_borrow_limit_of_an_unknown_asset_is_invalid_symbol(alice):
    response = alice.api.get("/api/v1/account/limits/borrow", {"symbol": "DOGE"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_the_withdrawal_limit_is_the_available_balance_what_orders_do_not_lock(alice, fund):
    fund(alice.user, "USDC", "1000")
    alice.api.post("/api/v1/order", {**BID, "price": "100", "quantity": "2"})  # locks 200.1

    response = alice.api.get("/api/v1/account/limits/withdrawal", {"symbol": "USDC"})

    assert response.status_code == 200
    assert response.json() == {
        "autoBorrow": None,
        "autoLendRedeem": None,
        "maxWithdrawalQuantity": "799.9",
        "symbol": "USDC",
    }


def test_a_withdrawal_limit_with_borrowing_is_refused(alice):
    response = alice.api.get("/api/v1/account/limits/withdrawal", {"symbol": "USDC", "autoBorrow": "true"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_CLIENT_REQUEST",
        "message": "autoBorrow: margin (borrowing, lending, reduce-only) is not offered "
        "on this spot-only exchange",
    }


def test_the_order_limit_of_a_sell_is_the_base_asset_not_locked_by_other_sells(bob):
    bob.api.post("/api/v1/order", {**ASK, "price": "100", "quantity": "2"})

    response = bob.api.get("/api/v1/account/limits/order", {"symbol": "SOL_USDC", "side": "Ask"})

    assert response.status_code == 200
    assert response.json() == {
        **NO_MARGIN,
        "maxOrderQuantity": "8",
        "price": None,
        "side": "Ask",
        "symbol": "SOL_USDC",
    }


def test_the_order_limit_of_a_limit_buy_counts_the_highest_fee_the_engine_locks(alice, fund):
    fund(alice.user, "USDC", "1000")

    response = alice.api.get(
        "/api/v1/account/limits/order", {"symbol": "SOL_USDC", "side": "Bid", "price": "100"}
    )

    # 9.99 SOL cost 999 + 0.4995 fee (5 bps); 10 would cost 1000.5.
    assert response.json()["maxOrderQuantity"] == "9.99"


def test_the_limit_buy_the_order_limit_gives_is_accepted_by_the_engine(alice, fund):
    fund(alice.user, "USDC", "1000")
    limit = alice.api.get(
        "/api/v1/account/limits/order", {"symbol": "SOL_USDC", "side": "Bid", "price": "100"}
    )

    response = alice.api.post(
        "/api/v1/order", {**BID, "price": "100", "quantity": limit.json()["maxOrderQuantity"]}
    )

    assert (response.status_code, response.json()["status"]) == (200, "New")


def test_the_order_limit_of_a_market_buy_walks_the_asks_with_the_taker_fee(alice, bob, fund):
    bob.api.post("/api/v1/order", {**ASK, "price": "100", "quantity": "2"})
    bob.api.post("/api/v1/order", {**ASK, "price": "110", "quantity": "3"})
    fund(alice.user, "USDC", "300")

    response = alice.api.get("/api/v1/account/limits/order", {"symbol": "SOL_USDC", "side": "Bid"})

    # 2 at 100 cost 200.1 with the fee; the 99.9 left buy 0.9 at 110 (99.0495), not 0.91 (100.15...).
    assert response.json()["maxOrderQuantity"] == "2.9"


def test_the_order_limit_is_at_most_the_markets_maximum_quantity(alice, fund, demo_markets):
    market = demo_markets["SOL_USDC"]
    market.max_quantity = 5
    market.save(update_fields=["max_quantity"])
    fund(alice.user, "USDC", "1000")

    response = alice.api.get(
        "/api/v1/account/limits/order", {"symbol": "SOL_USDC", "side": "Bid", "price": "1"}
    )

    assert response.json()["maxOrderQuantity"] == "5"


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        (
            {"symbol": "SOL_USDC", "side": "Bid", "reduceOnly": "true"},
            "INVALID_CLIENT_REQUEST",
            "reduceOnly: margin (borrowing, lending, reduce-only) is not offered on this spot-only exchange",
        ),
        (
            {"symbol": "SOL_USDC", "side": "Buy"},
            "INVALID_CLIENT_REQUEST",
            "Invalid side: must be one of Bid, Ask",
        ),
        ({"symbol": "SOL_USDC"}, "INVALID_CLIENT_REQUEST", "Missing required field: side"),
        (
            {"symbol": "DOGE_USDC", "side": "Bid"},
            "INVALID_SYMBOL",
            "Invalid symbol: 'DOGE_USDC' is not a market",
        ),
        (
            {"symbol": "SOL_USDC", "side": "Bid", "price": "100.001"},
            "INVALID_PRICE",
            "Invalid price: 100.001 is not a multiple of 0.01",
        ),
    ],
)
def test_a_bad_order_limit_query_is_refused_saying_why(alice, query, code, message):
    response = alice.api.get("/api/v1/account/limits/order", query)

    assert response.status_code == 400
    assert response.json() == {"code": code, "message": message}
