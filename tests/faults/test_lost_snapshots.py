"""The engine's snapshot folder lost while the command log had been trimmed: the engine refuses
to start from what is left of the log, ``rebuild_engine_state`` rebuilds its state from the
database, and the engine then serves exactly the state it had."""

from __future__ import annotations

import shutil
import time
from decimal import Decimal

import pytest

from engine import commandlog

from .conftest import SYMBOL, Load, assert_exchange_consistent

pytestmark = pytest.mark.services


def observed_state(cluster) -> dict:
    """What the traders see through the API: balances, open orders, and the last trade id."""
    trades = cluster.http.get("/api/v1/trades", params={"symbol": SYMBOL})
    assert trades.status_code == 200, trades.text
    return {
        "capital": {t.username: t.capital(cluster.http) for t in cluster.traders},
        "orders": {t.username: t.open_orders(cluster.http) for t in cluster.traders},
        "last trade id": trades.json()[-1]["id"],
    }


def test_without_snapshots_the_engine_refuses_to_start_until_rebuilt_from_the_database(cluster):
    engine = cluster.engines[0]
    load = Load(cluster, seed=5).start()
    cluster.wait_until(
        lambda: commandlog.read(cluster.r).trimmed_to != commandlog.START, 30, "the engine to trim its log"
    )
    time.sleep(2)
    load.stop()
    assert engine.terminate() == 0, cluster.logs()
    before = observed_state(cluster)
    cluster.wait_persisted()
    trimmed_to = commandlog.read(cluster.r).trimmed_to
    shutil.rmtree(cluster.snapshot_dir)

    refused = cluster.start_engine(wait=False)
    assert refused.wait(timeout=30) == 2, cluster.logs()
    errors = [line for line in refused.stderr().splitlines() if line.startswith("error:")]
    assert len(errors) == 1, refused.stderr()
    assert errors[0].startswith(
        f"error: no snapshot verifies and the command log was trimmed up to {trimmed_to}"
    ), errors[0]
    assert "`python manage.py rebuild_engine_state`" in errors[0]

    rebuilt = cluster.manage("rebuild_engine_state")
    assert rebuilt.returncode == 0, f"{rebuilt.stdout}\n{rebuilt.stderr}"
    restarted = cluster.start_engine()
    assert observed_state(cluster) == before

    # The next trade continues the market's trade ids: a market buy of 0.01 by the trader who
    # does not own the first ask in line.
    asks = [
        (Decimal(o["price"]), int(o["id"]), t)
        for t in cluster.traders
        for o in before["orders"][t.username]
        if o["side"] == "Ask"
    ]
    assert asks, before["orders"]
    best_price, _id, maker = min(asks, key=lambda a: a[:2])
    [taker] = [t for t in cluster.traders if t is not maker]
    reply = load.place(taker, {"side": "Bid", "orderType": "Market", "quantity": "0.01"})
    assert reply.acknowledged and reply.body["executedQuantity"] == "0.01", reply.body
    newest = cluster.http.get("/api/v1/trades", params={"symbol": SYMBOL}).json()[-1]
    assert (newest["id"], Decimal(newest["price"]), newest["quantity"]) == (
        before["last trade id"] + 1,
        best_price,
        "0.01",
    )

    assert_exchange_consistent(cluster, load, restarted)
