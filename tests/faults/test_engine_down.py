"""While the engine is down, the API refuses orders at once (503 MAINTENANCE) and appends
nothing: no order sent then is executed when the engine comes back."""

from __future__ import annotations

import time

import pytest

from history.models import Order

from .conftest import MID_TICKS, Load, assert_exchange_consistent, price_text

pytestmark = pytest.mark.services


def test_while_the_engine_is_down_orders_are_refused_at_once_and_never_executed_later(cluster):
    crashed = cluster.engines[0]
    load = Load(cluster, seed=6).start()
    time.sleep(3)
    load.stop()
    cluster.wait_caught_up()
    log_end = cluster.last_command_id()

    killed_at = time.monotonic()
    crashed.kill9()
    status = cluster.wait_status("Maintenance", timeout=5)
    noticed_after = time.monotonic() - killed_at
    assert noticed_after < 3.0
    assert status == {"status": "Maintenance", "message": "the matching engine is down"}

    refused = [
        load.place(
            cluster.traders[i % 2],
            {
                "side": ("Bid", "Ask")[i % 2],
                "orderType": "Limit",
                "price": price_text(MID_TICKS - 10 + i),
                "quantity": "1",
                "clientId": 4_000_000_000 + i,
            },
        )
        for i in range(20)
    ]
    assert [(r.status, r.code) for r in refused] == [(503, "MAINTENANCE")] * 20
    slowest = max(r.done - r.sent for r in refused)
    assert slowest < 1.0
    assert cluster.last_command_id() == log_end  # nothing was appended to the command log

    restarted = cluster.start_engine()
    assert cluster.wait_status("Ok")["status"] == "Ok"
    load.start()
    time.sleep(1.5)
    load.stop()
    cluster.wait_caught_up()
    refused_ids = {r.client_id for r in refused}
    for trader in cluster.traders:
        assert [o for o in trader.open_orders(cluster.http) if o["clientId"] in refused_ids] == []

    assert_exchange_consistent(cluster, load, restarted)
    assert list(Order.objects.filter(client_id__in=refused_ids).values_list("order_id", "client_id")) == []
