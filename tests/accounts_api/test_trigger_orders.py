"""Trigger orders through the private API against the real engine process: acknowledged
TriggerPending with their funds locked, placed when a trade reaches the trigger price, and
cancellable while they wait. SOL_USDC is the demo market (tick 0.01, step 0.01, maker fee 2 bps,
taker fee 5 bps); alice holds 1000 USDC and bob 10 SOL."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.services


def ask(price: str, quantity: str) -> dict:
    return {"symbol": "SOL_USDC", "side": "Ask", "orderType": "Limit", "price": price, "quantity": quantity}


MARKET_BUY = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Market", "quantity": "0.1"}
TRIGGER_BUY = {
    "symbol": "SOL_USDC",
    "side": "Bid",
    "orderType": "Limit",
    "price": "110",
    "quantity": "1",
    "triggerPrice": "105",
}


def trade_at(price: str, buyer, seller) -> None:
    seller.api.post("/api/v1/order", ask(price, "0.1"))
    bought = buyer.api.post("/api/v1/order", MARKET_BUY)
    assert bought.json()["status"] == "Filled", bought.json()


def test_a_trigger_order_is_acknowledged_pending_with_its_trigger_price_and_funds_locked(traders):
    alice, bob = traders
    trade_at("100", alice, bob)  # alice paid 10 USDC and a 0.005 fee

    response = alice.api.post("/api/v1/order", TRIGGER_BUY)

    body = response.json()
    assert (response.status_code, body["status"], body["triggerPrice"], body["triggerQuantity"]) == (
        200,
        "TriggerPending",
        "105",
        "1",
    )
    assert [o["id"] for o in alice.api.get("/api/v1/orders").json()] == [body["id"]]
    # 110 locked, and the higher fee (5 bps) on it: 0.055
    assert alice.api.get("/api/v1/capital").json()["USDC"]["locked"] == "110.055"


def test_a_trigger_order_is_placed_when_a_trade_reaches_its_trigger_price(traders):
    alice, bob = traders
    trade_at("100", alice, bob)
    pending = alice.api.post("/api/v1/order", TRIGGER_BUY).json()
    bob.api.post("/api/v1/order", ask("105", "2"))

    # alice's market buy trades at 105: her trigger order is placed and buys the rest at 105
    alice.api.post(
        "/api/v1/order", {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Market", "quantity": "0.1"}
    )

    history = alice.api.get("/wapi/v1/history/orders", {"orderId": pending["id"]}).json()
    assert [(o["status"], o["executedQuantity"], o["triggerPrice"]) for o in history] == [
        ("Filled", "1", "105")
    ]
    assert alice.api.get("/api/v1/orders").json() == []


def test_a_pending_trigger_order_is_cancelled_by_id_and_its_funds_unlocked(traders):
    alice, bob = traders
    trade_at("100", alice, bob)
    pending = alice.api.post("/api/v1/order", TRIGGER_BUY).json()

    response = alice.api.delete("/api/v1/order", {"symbol": "SOL_USDC", "orderId": pending["id"]})

    assert response.json()["status"] == "Cancelled"
    assert alice.api.get("/api/v1/capital").json()["USDC"]["locked"] == "0"


def test_a_trigger_order_before_any_trade_in_its_market_is_refused(traders):
    alice, _ = traders

    response = alice.api.post("/api/v1/order", TRIGGER_BUY)

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_ORDER")
    assert "last price" in response.json()["message"]
