"""Several workers writing overlapping batches at the same time (each its own database session)
end with every row exactly once and candles equal to a recomputation from the trades."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, connections

from history import persistence
from history.models import Fill, LedgerEntry, Order, Trade

from .factory import Events
from .test_candles_property import recomputed_from_trades, stored_candles

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need a server database"
)

T0 = 1_754_517_600_000
N_TRADES = 600
WORKERS = 4


def engine_like_events(traders) -> list[dict]:
    """Per trade: the taker's acceptance, the trade, both fills — with fees."""
    e = Events()
    events = []
    for i in range(1, N_TRADES + 1):
        ts = T0 + i * 7_919  # crosses minutes, hours and the 3m/5m/15m buckets
        maker, taker = 10_000 + i, 20_000 + i
        events.append(e.order("OrderAccepted", taker, traders.buyer, ts=ts, created_ts=ts))
        events.append(
            e.trade(i, ts, 14_000 + i % 37, 1 + i % 5, buyer=traders.buyer, seller=traders.seller,
                    buyer_fee=7 * i, seller_fee=3 * i)
        )  # fmt: skip
        events.append(
            e.order(
                "OrderFilled",
                maker,
                traders.seller,
                ts=ts,
                side="Ask",
                trade_id=i,
                status="Filled",
                is_maker=True,
            )
        )
        events.append(e.order("OrderFilled", taker, traders.buyer, ts=ts, trade_id=i, status="Filled"))
    return events


def persist_retrying(batch: list[dict], attempts: int = 10) -> None:
    """As a worker's task does: again after a retryable error (two writers deadlocking)."""
    for attempt in range(1, attempts + 1):
        try:
            persistence.persist_events(batch)
            return
        except Exception as exc:
            if attempt == attempts or not persistence.is_retryable(exc):
                raise
            time.sleep(0.05 * attempt)


def test_overlapping_batches_written_concurrently_end_with_every_row_once(
    transactional_db, sol_usdc, traders
):
    events = engine_like_events(traders)
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def worker(seed: int) -> None:
        try:
            rng = random.Random(seed)
            mine = events[:]
            rng.shuffle(mine)
            start.wait()
            for i in range(0, len(mine), 97):
                persist_retrying(mine[i : i + 97])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == []
    assert Trade.objects.count() == N_TRADES
    assert Fill.objects.count() == 2 * N_TRADES
    assert Order.objects.count() == 2 * N_TRADES
    assert LedgerEntry.objects.count() == 7 * N_TRADES
    fee_total = sum(LedgerEntry.objects.filter(account=0).values_list("amount", flat=True))
    assert fee_total == sum(10 * i for i in range(1, N_TRADES + 1))
    assert stored_candles() == recomputed_from_trades()
