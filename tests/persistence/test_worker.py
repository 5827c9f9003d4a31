"""A real Celery worker (a subprocess on the real Redis broker and the test database) persisting
batches sent the way the engine process sends them — and being killed in the middle of one."""

from __future__ import annotations

import signal
import time

import pytest
from django.db import connection
from django.db.models import Count, Max, Min

from history.models import Candle, Fill, LedgerEntry, Trade

from .conftest import Worker, send_batch, wait_until
from .factory import Events
from .test_candles_property import recomputed_from_trades, stored_candles

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="worker subprocesses share the test database on a server"
)

T0 = 1_754_517_600_000


def batches(traders, count: int, trades_per_batch: int) -> list[list[dict]]:
    """``count`` batches in the engine's shape: per trade the trade and both fills."""
    e = Events()
    out = []
    for b in range(count):
        batch = []
        for i in range(b * trades_per_batch + 1, (b + 1) * trades_per_batch + 1):
            ts = T0 + i * 250
            batch.append(
                e.trade(i, ts, 14_000 + i % 11, 1 + i % 3, buyer=traders.buyer, seller=traders.seller,
                        buyer_fee=5, seller_fee=2)
            )  # fmt: skip
            batch.append(
                e.order("OrderFilled", 2 * i, traders.seller, ts=ts, side="Ask", trade_id=i, is_maker=True)
            )
            batch.append(e.order("OrderFilled", 2 * i + 1, traders.buyer, ts=ts, trade_id=i))
        out.append(batch)
    return out


def test_the_project_app_discovers_the_persist_task():
    from exchange_site.celery import app

    app.loader.import_default_modules()

    assert "persistence.persist_events" in app.tasks


def test_batches_sent_like_the_engine_does_are_persisted_by_a_worker(celery_worker_proc, sol_usdc, traders):
    celery_worker_proc.start()
    assert "persistence.persist_events" in celery_worker_proc.log_path.read_text()  # registered

    for batch in batches(traders, 3, 50):
        send_batch(batch, celery_worker_proc.queue)

    wait_until(lambda: Trade.objects.count() == 150, 30, "150 trades", celery_worker_proc.log)
    wait_until(lambda: Candle.objects.filter(interval="1m").exists(), 10, "candles", celery_worker_proc.log)
    assert Fill.objects.count() == 300
    assert LedgerEntry.objects.count() == 7 * 150
    assert stored_candles() == recomputed_from_trades()


def fills_diagnosis() -> str:
    rows = Fill.objects.aggregate(n=Count("seq"), low=Min("seq"), high=Max("seq"))
    return f"fills: {rows}"


def worker_transaction_open(db_name: str) -> bool:
    """Whether another session of the test database is inside a transaction that has written."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND backend_xid IS NOT NULL",
            [db_name],
        )
        return cur.fetchone()[0] > 0


def test_a_worker_killed_mid_batch_leaves_nothing_missing_and_nothing_doubled(
    celery_worker_proc, sol_usdc, traders
):
    per_batch, count = 2_000, 8
    total = per_batch * count
    celery_worker_proc.start()
    for batch in batches(traders, count, per_batch):
        send_batch(batch, celery_worker_proc.queue)

    # Kill while a batch's transaction is open and has written rows: after some, before all.
    db_name = connection.settings_dict["NAME"]
    wait_until(
        lambda: Trade.objects.count() >= per_batch, 60, "a first batch", celery_worker_proc.log, pause=0.02
    )
    wait_until(
        lambda: worker_transaction_open(db_name), 30, "a batch in flight", celery_worker_proc.log, pause=0.005
    )
    celery_worker_proc.kill()
    killed_at = Trade.objects.count()
    assert 0 < killed_at < total
    assert killed_at % per_batch == 0  # the batch in flight left nothing behind

    # The broker hands the unacknowledged batches out again once they are older than the
    # visibility timeout; a restarted worker picks them up.
    time.sleep(Worker.VISIBILITY_TIMEOUT_S + 0.5)
    celery_worker_proc.start()
    wait_until(lambda: Trade.objects.count() == total, 120, f"{total} trades", celery_worker_proc.log)
    time.sleep(1)  # anything still redelivered would land now

    assert Trade.objects.count() == total
    assert Fill.objects.count() == 2 * total, fills_diagnosis()
    assert LedgerEntry.objects.count() == 7 * total
    assert sum(LedgerEntry.objects.filter(account=0).values_list("amount", flat=True)) == 7 * total
    assert stored_candles() == recomputed_from_trades()


def test_a_committed_batch_leaves_the_persistence_outbox(celery_worker_proc, sol_usdc, traders, redis_conn):
    from history.outbox import outbox

    celery_worker_proc.start()
    entry_id = send_batch(batches(traders, 1, 20)[0], celery_worker_proc.queue)

    wait_until(lambda: Trade.objects.count() == 20, 30, "20 trades", celery_worker_proc.log)
    wait_until(lambda: not outbox().pending(redis_conn), 10, "an empty outbox", celery_worker_proc.log)
    assert outbox().take(redis_conn, entry_id) is None


def test_a_batch_whose_message_died_with_the_worker_is_written_when_a_worker_starts(
    celery_worker_proc, sol_usdc, traders, redis_conn
):
    """kombu's Redis transport takes a message off the queue before it records it as
    unacknowledged: a worker that dies in between takes the message with it. The batch waits in
    the persistence outbox, and a starting worker queues it again."""
    celery_worker_proc.start()
    # Ready is logged before the worker's first BRPOP reaches Redis: stopped in between (a slow
    # start on a busy machine), it would leave the message in the queue.
    wait_until(
        lambda: waiting_on_its_queue(redis_conn),
        10,
        "the worker to wait on its queue",
        celery_worker_proc.log,
    )
    celery_worker_proc.proc.send_signal(signal.SIGSTOP)  # idle, its BRPOP outstanding
    send_batch(batches(traders, 1, 30)[0], celery_worker_proc.queue)
    wait_until(
        lambda: redis_conn.llen(celery_worker_proc.queue) == 0, 10, "Redis to hand the message to the worker"
    )
    celery_worker_proc.kill()
    assert redis_conn.llen(celery_worker_proc.queue) == 0
    assert redis_conn.hlen("unacked") == 0  # the message is gone from the broker

    celery_worker_proc.start()

    wait_until(lambda: Trade.objects.count() == 30, 30, "30 trades", celery_worker_proc.log)
    assert LedgerEntry.objects.count() == 7 * 30
    assert "1 batch(es) not yet written, queued again" in celery_worker_proc.log()


def waiting_on_its_queue(redis_conn) -> bool:
    """A client of the test's Redis database is blocked in a BRPOP (the worker's, on its queue)."""
    db = str(redis_conn.connection_pool.connection_kwargs.get("db", 0))
    return any(c["db"] == db and c["cmd"] == "brpop" and "b" in c["flags"] for c in redis_conn.client_list())
