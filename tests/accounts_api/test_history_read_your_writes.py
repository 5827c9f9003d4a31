"""Through the API with the real engine and a real persistence worker: an order and its fill are
in the history as soon as the order is acknowledged, whether or not the worker has written them."""

from __future__ import annotations

import pytest

from history.models import Fill
from tests.conftest import wait_until

pytestmark = pytest.mark.services

ASK = {"symbol": "SOL_USDC", "side": "Ask", "orderType": "Limit", "price": "100", "quantity": "0.1"}
MARKET_BUY = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Market", "quantity": "0.1"}
ROUNDS = 500


def test_a_fill_is_in_the_history_right_after_its_order_is_acknowledged_every_time(
    engine_worker, make_trader, fund, settings
):
    settings.API_RATE_LIMITS = {"key": "100000/10s", "user": "100000/10s"}
    alice, bob = make_trader("alice"), make_trader("bob")
    fund(alice.user, "USDC", "20000")
    fund(bob.user, "SOL", "200")

    missed_fills, missed_orders = [], []
    for round_ in range(ROUNDS):
        bob.api.post("/api/v1/order", ASK)
        bought = alice.api.post("/api/v1/order", MARKET_BUY).json()
        [fill] = alice.api.get("/wapi/v1/history/fills", {"limit": "1"}).json()
        [order] = alice.api.get("/wapi/v1/history/orders", {"limit": "1"}).json()
        if (fill["orderId"], fill["quantity"]) != (bought["id"], "0.1"):
            missed_fills.append((round_, bought, fill))
        if (order["id"], order["status"]) != (bought["id"], "Filled"):
            missed_orders.append((round_, bought, order))

    assert missed_fills == [] and missed_orders == []
    wait_until(
        lambda: Fill.objects.count() == 2 * ROUNDS, 30, "the worker persisted every fill", engine_worker.log
    )
    fills = alice.api.get("/wapi/v1/history/fills", {"limit": "1000"}).json()
    assert len({f["tradeId"] for f in fills}) == ROUNDS
