"""Trading through the private API against the real engine process (tests/conftest.py fixtures).

Markets are the demo ones: SOL_USDC with tick 0.01 and step 0.01, maker fee 2 bps, taker fee
5 bps. A resting buy locks price x quantity plus the larger of the two fees, in USDC.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.services

BID = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "2"}
ASK = {"symbol": "SOL_USDC", "side": "Ask", "orderType": "Limit", "price": "100", "quantity": "2"}
MARKET_BID = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Market"}


def order_object(order_id: str, created_at: int, **fields) -> dict:
    """Backpack's order object of a resting limit buy of 2 SOL at 100 USDC, but for ``fields``."""
    base = {
        "id": order_id, "clientId": None, "createdAt": created_at,
        "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "timeInForce": "GTC", "postOnly": False,
        "reduceOnly": None, "selfTradePrevention": "RejectTaker",
        "price": "100", "quantity": "2", "quoteQuantity": None,
        "triggerPrice": None, "triggerQuantity": None, "relatedOrderId": None,
        "executedQuantity": "0", "executedQuoteQuantity": "0", "status": "New",
    }  # fmt: skip
    return {**base, **fields}


def test_a_limit_order_that_does_not_cross_rests_as_new(traders):
    alice, _ = traders

    response = alice.api.post("/api/v1/order", {**BID, "clientId": 7})

    assert response.status_code == 200
    body = response.json()
    assert body == order_object(body["id"], body["createdAt"], clientId=7)
    assert body["id"].isdigit() and isinstance(body["createdAt"], int)


def test_backpacks_margin_and_conditional_fields_left_unset_place_the_plain_order(traders):
    alice, _ = traders
    unset = {
        "reduceOnly": False, "autoLend": False, "autoLendRedeem": None, "autoBorrow": False,
        "autoBorrowRepay": None, "brokerId": None, "triggerPrice": None, "triggerQuantity": None,
        "triggerBy": None, "stopLossTriggerPrice": None, "stopLossLimitPrice": None,
        "stopLossTriggerBy": None, "takeProfitTriggerPrice": None, "takeProfitLimitPrice": None,
        "takeProfitTriggerBy": None, "slippageTolerance": None, "slippageToleranceType": None,
    }  # fmt: skip

    response = alice.api.post("/api/v1/order", {**BID, **unset})

    assert response.status_code == 200
    body = response.json()
    assert body == order_object(body["id"], body["createdAt"])


def test_balances_show_the_lock_as_soon_as_the_order_is_acknowledged(traders):
    alice, _ = traders

    alice.api.post("/api/v1/order", BID)
    response = alice.api.get("/api/v1/capital")

    # 200 USDC + 5 bps worst-case fee = 200.1 locked.
    assert response.json() == {"USDC": {"available": "799.9", "locked": "200.1", "staked": "0"}}


def test_open_orders_show_the_order_as_soon_as_it_is_acknowledged(traders):
    alice, _ = traders
    placed = alice.api.post("/api/v1/order", BID).json()

    assert alice.api.get("/api/v1/orders").json() == [placed]
    assert alice.api.get("/api/v1/orders", {"symbol": "SOL_USDC"}).json() == [placed]
    assert alice.api.get("/api/v1/orders", {"symbol": "BTC_USDC"}).json() == []


def test_one_open_order_is_found_by_id_or_client_id(traders):
    alice, _ = traders
    placed = alice.api.post("/api/v1/order", {**BID, "clientId": 42}).json()

    by_id = alice.api.get("/api/v1/order", {"symbol": "SOL_USDC", "orderId": placed["id"]})
    by_client_id = alice.api.get("/api/v1/order", {"symbol": "SOL_USDC", "clientId": 42})

    assert by_id.json() == placed
    assert by_client_id.json() == placed


@pytest.mark.parametrize("method", ["get", "delete"])
def test_querying_or_cancelling_an_order_that_is_not_open_is_404(traders, method):
    alice, _ = traders

    response = getattr(alice.api, method)("/api/v1/order", {"symbol": "SOL_USDC", "orderId": "999999"})

    assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


def test_cancelling_returns_the_cancelled_order_and_unlocks_the_funds(traders):
    alice, _ = traders
    placed = alice.api.post("/api/v1/order", BID).json()

    response = alice.api.delete("/api/v1/order", {"symbol": "SOL_USDC", "orderId": placed["id"]})

    assert response.status_code == 200
    assert response.json() == {**placed, "status": "Cancelled"}
    assert alice.api.get("/api/v1/capital").json() == {
        "USDC": {"available": "1000", "locked": "0", "staked": "0"}
    }
    assert alice.api.get("/api/v1/orders").json() == []


@pytest.mark.parametrize("client_id", [31337, "31337"], ids=["an integer", "a string of digits"])
def test_cancelling_by_client_id(traders, client_id):
    alice, _ = traders
    placed = alice.api.post("/api/v1/order", {**BID, "clientId": 31337}).json()

    response = alice.api.delete("/api/v1/order", {"symbol": "SOL_USDC", "clientId": client_id})

    assert response.json() == {**placed, "status": "Cancelled"}


def test_a_client_id_written_as_a_string_of_digits_is_that_integer(traders):
    alice, _ = traders

    placed = alice.api.post("/api/v1/order", {**BID, "clientId": "31337"})

    assert (placed.status_code, placed.json()["clientId"]) == (200, 31337)


def test_cancel_all_returns_every_cancelled_order_of_the_market(traders):
    alice, _ = traders
    first = alice.api.post("/api/v1/order", BID).json()
    second = alice.api.post("/api/v1/order", {**BID, "price": "99"}).json()

    response = alice.api.delete("/api/v1/orders", {"symbol": "SOL_USDC"})

    assert sorted(response.json(), key=lambda o: int(o["id"])) == [
        {**first, "status": "Cancelled"},
        {**second, "status": "Cancelled"},
    ]
    assert alice.api.get("/api/v1/orders").json() == []


def test_cancel_all_with_nothing_open_is_an_empty_list(traders):
    alice, _ = traders

    response = alice.api.delete("/api/v1/orders", {"symbol": "SOL_USDC"})

    assert (response.status_code, response.json()) == (200, [])


def test_a_crossing_order_returns_its_final_filled_state(traders):
    alice, bob = traders
    bob.api.post("/api/v1/order", {**ASK, "quantity": "1"})

    response = alice.api.post("/api/v1/order", {**BID, "price": "101", "quantity": "1"})

    body = response.json()
    assert body == order_object(
        body["id"],
        body["createdAt"],
        price="101",
        quantity="1",
        executedQuantity="1",
        executedQuoteQuantity="100",
        status="Filled",
    )


def test_a_partly_filled_order_rests_as_partially_filled(traders):
    alice, bob = traders
    bob.api.post("/api/v1/order", {**ASK, "quantity": "1"})

    body = alice.api.post("/api/v1/order", BID).json()

    assert (body["status"], body["executedQuantity"], body["executedQuoteQuantity"]) == (
        "PartiallyFilled",
        "1",
        "100",
    )
    assert [o["status"] for o in alice.api.get("/api/v1/orders").json()] == ["PartiallyFilled"]


def test_a_market_order_by_quantity_takes_the_book(traders):
    alice, bob = traders
    bob.api.post("/api/v1/order", ASK)

    body = alice.api.post("/api/v1/order", {**MARKET_BID, "quantity": "1.5"}).json()

    assert (body["orderType"], body["status"], body["executedQuantity"], body["price"]) == (
        "Market",
        "Filled",
        "1.5",
        None,
    )


def test_a_market_buy_by_quote_quantity_spends_at_most_the_budget(traders):
    alice, bob = traders
    bob.api.post("/api/v1/order", ASK)

    body = alice.api.post("/api/v1/order", {**MARKET_BID, "quoteQuantity": "50"}).json()

    assert body["quoteQuantity"] == "50"
    assert body["executedQuantity"] == "0.49"  # 0.5 SOL would cost 50 + the taker fee
    assert body["status"] in ("Filled", "Expired")


def test_insufficient_funds_is_refused_and_changes_nothing(traders):
    alice, _ = traders

    response = alice.api.post("/api/v1/order", {**BID, "quantity": "20"})

    assert (response.status_code, response.json()["code"]) == (400, "INSUFFICIENT_FUNDS")
    assert alice.api.get("/api/v1/capital").json() == {
        "USDC": {"available": "1000", "locked": "0", "staked": "0"}
    }
    assert alice.api.get("/api/v1/orders").json() == []


def test_a_post_only_order_that_would_take_is_invalid_order(traders):
    alice, bob = traders
    bob.api.post("/api/v1/order", ASK)

    response = alice.api.post("/api/v1/order", {**BID, "price": "100", "postOnly": True})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_ORDER")
    assert alice.api.get("/api/v1/orders").json() == []


def test_a_client_id_already_used_by_an_open_order_is_invalid_order(traders):
    alice, _ = traders
    alice.api.post("/api/v1/order", {**BID, "clientId": 9})

    response = alice.api.post("/api/v1/order", {**BID, "price": "99", "clientId": 9})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_ORDER")
    assert len(alice.api.get("/api/v1/orders").json()) == 1


def test_a_halted_market_refuses_orders_with_trading_paused(traders, demo_markets):
    from markets.services import update_market

    alice, _ = traders
    market = demo_markets["SOL_USDC"]
    market.state = "Closed"
    update_market(market)

    response = alice.api.post("/api/v1/order", BID)

    assert (response.status_code, response.json()["code"]) == (400, "TRADING_PAUSED")


def test_another_users_order_is_not_visible_cancellable_or_counted(traders):
    alice, bob = traders
    placed = alice.api.post("/api/v1/order", {**BID, "clientId": 1}).json()

    assert bob.api.get("/api/v1/orders").json() == []
    assert bob.api.get("/api/v1/order", {"symbol": "SOL_USDC", "orderId": placed["id"]}).status_code == 404
    cancel = bob.api.delete("/api/v1/order", {"symbol": "SOL_USDC", "orderId": placed["id"]})
    assert (cancel.status_code, cancel.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    assert bob.api.delete("/api/v1/orders", {"symbol": "SOL_USDC"}).json() == []
    assert alice.api.get("/api/v1/orders").json() == [placed]


def test_a_batch_places_its_orders_in_order(traders):
    alice, _ = traders

    response = alice.api.post("/api/v1/orders", [BID, {**BID, "price": "99"}])

    assert response.status_code == 200
    assert [(o["operation"], o["price"], o["status"]) for o in response.json()] == [
        ("Ok", "100", "New"), ("Ok", "99", "New")
    ]  # fmt: skip
    assert int(response.json()[0]["id"]) < int(response.json()[1]["id"])


def test_an_engine_refusal_in_a_batch_takes_that_orders_place_and_the_others_stand(traders):
    alice, _ = traders

    response = alice.api.post("/api/v1/orders", [BID, {**BID, "quantity": "100"}, {**BID, "price": "99"}])

    first, refused, third = response.json()
    assert [(o["operation"], o["status"]) for o in (first, third)] == [("Ok", "New"), ("Ok", "New")]
    assert refused == {
        "operation": "Err", "code": "INSUFFICIENT_FUNDS", "message": "insufficient available USDC"
    }  # fmt: skip
    assert len(alice.api.get("/api/v1/orders").json()) == 2


def test_a_withdrawal_request_debits_the_balance(traders):
    alice, _ = traders

    response = alice.api.post("/wapi/v1/capital/withdrawals", {"symbol": "USDC", "quantity": "250.5"})

    assert response.status_code == 200
    body = response.json()
    assert (body["symbol"], body["quantity"], body["status"]) == ("USDC", "250.5", "confirmed")
    assert alice.api.get("/api/v1/capital").json() == {
        "USDC": {"available": "749.5", "locked": "0", "staked": "0"}
    }


def test_a_withdrawal_above_the_available_balance_is_insufficient_funds(traders):
    alice, _ = traders
    alice.api.post("/api/v1/order", BID)  # 200.1 locked

    response = alice.api.post("/wapi/v1/capital/withdrawals", {"symbol": "USDC", "quantity": "800"})

    assert (response.status_code, response.json()["code"]) == (400, "INSUFFICIENT_FUNDS")


def test_the_faucet_deposits_when_debug_is_on(traders, settings):
    alice, _ = traders
    settings.DEBUG = True

    response = alice.api.post("/api/v1/dev/faucet", {"symbol": "SOL", "quantity": "3"})

    assert response.status_code == 200
    assert alice.api.get("/api/v1/capital").json()["SOL"] == {"available": "3", "locked": "0", "staked": "0"}


def test_an_order_id_and_a_client_id_must_both_match_when_both_are_given(traders):
    alice, _ = traders
    placed = alice.api.post("/api/v1/order", {**BID, "clientId": 3}).json()

    response = alice.api.get("/api/v1/order", {"symbol": "SOL_USDC", "orderId": placed["id"], "clientId": 4})

    assert response.status_code == 404
