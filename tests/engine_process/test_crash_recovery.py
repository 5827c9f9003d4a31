"""Nothing acknowledged is lost, and nothing is persisted twice: ``kill -9`` the engine (and the
persistence worker) under load, restart them, and compare with a crash-free run of the same
command log.

Several client threads submit orders through ``engine.client.submit`` while the engine runs as a
real subprocess against the real Redis, snapshotting (and trimming the stream) every half second,
and a real Celery worker subprocess persists the batches the engine hands it (every 0.1 s). A
monitor records every stream entry as it is appended. After a chosen delay the worker is killed
inside a batch's transaction, then the engine once it has handed over events its newest snapshot
does not cover; both are restarted. Afterwards a reference ``Engine`` applies the recorded log in
order, and:
- every reply a client received equals the reference's events for that command (same seq, same
  order state: the acknowledged state survived);
- the restarted engine's final state equals the reference's (books, balances, locks, counters);
- per asset, available + locked over all accounts (fee account included) = deposits - withdrawals;
- once the worker has drained the queue, the database holds exactly the reference's history,
  each row once: trades, two fills per trade, ledger entries (summing to the reference's
  balances), deposits, candles, and every order in its last state, although the worker ran
  some events twice: the restarted engine replays the commands after its snapshot and hands
  their events over again, and the killed worker's unacknowledged batches are delivered again.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum

from contract import persist_batch
from contract.intervals import INTERVAL_NAMES
from contract.names import PERSIST_TASK
from engine import snapshots
from engine.client import COMMAND_STREAM, EngineTimeout, EngineUnavailable, submit
from engine.core import Engine
from engine.core.codec import command_from_dict, event_to_dict
from engine.core.messages import ASK, BID, LIMIT, MARKET, CancelOrder, Deposit, PlaceOrder
from engine.process import STATUS_KEY, stream_ts
from engine.publisher import NOT_IN_REPLY
from history.models import Candle, Fill, LedgerEntry, Order, Trade, Transfer
from history.outbox import outbox
from tests.conftest import Worker, persistence_settled, wait_until

pytestmark = pytest.mark.services

TRADERS = 4
ORDER_EVENTS = ("OrderAccepted", "OrderFilled", "OrderCancelled", "OrderExpired")
PERSISTED_EVENTS = (*ORDER_EVENTS, "Trade", "Deposited", "Withdrawn")  # the history; not depth, not balances
# The worker and the engine subprocesses share the test database, which takes a server: on the
# SQLite fallback the test runs without a worker and checks the engine half only.
PERSISTS = connection.vendor == "postgresql"


class StreamMonitor(threading.Thread):
    """Copies every entry of the command stream as it is appended (before any trim)."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn
        self.entries: list[tuple[str, dict]] = []
        self.stop = threading.Event()

    def run(self):
        last = "0-0"
        while not self.stop.is_set():
            for _s, items in self.conn.xread({COMMAND_STREAM: last}, count=1000, block=20) or ():
                for entry_id, fields in items:
                    last = entry_id.decode()
                    self.entries.append((last, fields))


def trader(account: int, seed: int, deadline: float, replies: dict, lock: threading.Lock):
    rng = random.Random(seed)
    client_id = 0
    mine: list[int] = []
    while time.monotonic() < deadline:
        if mine and rng.random() < 0.25:
            command = CancelOrder(
                ts=0, account=account, market="SOL_USDC", order_id=mine.pop(rng.randrange(len(mine)))
            )
            key = ("cancel", account, command.order_id, time.monotonic_ns())
        else:
            client_id += 1
            side = rng.choice((BID, ASK))
            if rng.random() < 0.1:
                terms = {"order_type": MARKET, "quantity": rng.randint(1, 300)}
            else:
                price = rng.randint(9_900, 10_100)
                terms = {"order_type": LIMIT, "price": price, "quantity": rng.randint(1, 500)}
            command = PlaceOrder(
                ts=0, account=account, market="SOL_USDC", side=side, client_id=client_id, **terms
            )
            key = ("place", account, client_id)
        try:
            events = submit(command, timeout=1.0)
        except (EngineTimeout, EngineUnavailable):
            continue  # status unknown: the comparison below only covers acknowledged commands
        with lock:
            replies[key] = events
        for ev in events:
            if ev["type"] == "OrderAccepted" and ev["status"] == "New":
                mine.append(ev["order_id"])


def caught_up(conn) -> bool:
    """Whether the engine's heartbeat names the last entry of the command stream."""
    status = conn.get(STATUS_KEY)
    last = conn.xinfo_stream(COMMAND_STREAM)["last-generated-id"].decode()
    return bool(status) and json.loads(status)["stream_id"] == last


def replay_reference(entries):
    """The crash-free run: a fresh ``Engine`` applies the recorded log in order. Returns it, its
    reply to each place command (by client key), and all its events but depth and balance changes
    (which are neither replies nor persisted)."""
    engine = Engine()
    by_key: dict = {}
    all_events: list[dict] = []
    for entry_id, fields in entries:
        body = json.loads(fields[b"cmd"])
        body["ts"] = stream_ts(entry_id)
        command = command_from_dict(body)
        events = [event_to_dict(e) for e in engine.apply(command) if not isinstance(e, NOT_IN_REPLY)]
        all_events.extend(events)
        if isinstance(command, PlaceOrder) and command.client_id is not None:
            by_key[("place", command.account, command.client_id)] = events
    return engine, by_key, all_events


def kill_9_inside_a_batch(worker: Worker, timeout: float = 10) -> set[str]:
    """``kill -9`` the worker while it is inside a batch's transaction: with the trades table
    locked (SHARE conflicts with the ROW EXCLUSIVE lock of an INSERT or COPY), its next batch
    writes orders and fills and then waits; that is when it dies. That batch is neither
    committed nor acknowledged, so the broker hands it out again. (A worker killed while a
    message is in transit to it takes the message along, but not the batch: that stays in the
    persistence outbox until committed, and a starting worker queues it again; see
    tests/persistence/test_worker.py.) Returns the ids of the batches the worker had taken and
    not finished."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"LOCK TABLE {Trade._meta.db_table} IN SHARE MODE")

        def worker_waits_for_the_lock() -> bool:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            return cur.fetchone()[0] > 0

        wait_until(
            worker_waits_for_the_lock, timeout, "a batch to come to the worker", worker.log, pause=0.005
        )
        worker.kill()
    return persist_tasks(worker, "received") - persist_tasks(worker, "succeeded")


def persist_tasks(worker: Worker, outcome: str) -> set[str]:
    """Ids of the persistence batches the worker's current log shows as ``outcome``."""
    return set(re.findall(rf"{PERSIST_TASK}\[([0-9a-f-]+)\] {outcome}", worker.log_path.read_text()))


def seqs_in_outbox(conn) -> list[int]:
    """The seqs of the events in the persistence batches not yet committed: those in the
    persistence outbox (``contract.persist_outbox``; each entry a batch packed by
    ``contract.persist_batch``)."""
    seqs = []
    for entry_id in outbox().pending(conn):
        batch = json.loads(outbox().take(conn, entry_id))
        assert persist_batch.is_packed(batch), batch
        for kind, rows in batch["rows"].items():
            at = batch["fields"][kind].index("seq")
            seqs += [row[at] for row in rows]
    return seqs


def snapshot_child_running(pid: int) -> bool:
    """Whether a child of ``pid`` (the engine's fork()ed snapshot writer) is still alive."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(ppid) == pid and state != "Z":
            return True
    return False


def kill_9_with_events_beyond_snapshot(runner, conn, queue: str, timeout: float = 10) -> tuple[int, int]:
    """``kill -9`` the engine at a moment when it has handed persistence events that its newest
    snapshot does not cover, so that its restart replays the commands behind them and hands the
    same events over a second time. Whether this is such a moment is decided with the engine
    frozen (SIGSTOP) and its snapshot child, if one is writing, finished; if it is not, the
    engine runs on briefly (SIGCONT) and is looked at again. Returns the newest snapshot's seq
    and how many events beyond it the persistence outbox holds."""
    pid = runner.proc.pid

    def frozen_beyond_the_snapshot() -> tuple[int, int] | None:
        os.kill(pid, signal.SIGSTOP)
        wait_until(
            lambda: not snapshot_child_running(pid), timeout, "the snapshot child to finish", pause=0.005
        )
        newest = snapshots.load_newest(runner.snapshot_dir)
        if newest is not None:
            covered = Engine.restore(newest.core).last_seq
            beyond = sum(1 for seq in seqs_in_outbox(conn) if seq > covered)
            if beyond:
                return covered, beyond
        os.kill(pid, signal.SIGCONT)
        return None

    found = wait_until(
        frozen_beyond_the_snapshot,
        timeout,
        "a persistence batch beyond the newest snapshot",
        runner.log,
        pause=0.02,
    )
    runner.kill()
    return found


def history_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Order, Fill, Trade, LedgerEntry, Transfer, Candle))


def batches_offered(worker: Worker) -> int:
    """Events in the batches the worker ran to completion, over all its lives (a batch killed
    mid-transaction wrote nothing and is not counted; its redelivery is)."""
    total = 0
    for i in range(1, worker.starts + 1):
        log = (worker.log_dir / f"worker-{i}.log").read_text()
        total += sum(int(n) for n in re.findall(r"succeeded in [0-9.e-]+s: \{'events': (\d+)", log))
    return total


def ledger_keys(events: list[dict], base: str = "SOL", quote: str = "USDC") -> list[tuple]:
    """``(account, asset, seq, cause)`` of every balance change the events make: a deposit; the
    four legs of a trade; each side's fee and the fee account's income."""
    keys = []
    for e in events:
        if e["type"] == "Deposited":
            keys.append((e["account"], e["asset"], e["seq"], "deposit"))
        elif e["type"] == "Trade":
            buyer, seller, seq, fee_asset = e["buyer_account"], e["seller_account"], e["seq"], e["fee_asset"]
            keys += [(acct, asset, seq, "trade") for acct in (buyer, seller) for asset in (base, quote)]
            if e["buyer_fee"]:
                keys.append((buyer, fee_asset, seq, "fee"))
            if e["seller_fee"]:
                keys.append((seller, fee_asset, seq, "fee"))
            if e["buyer_fee"] or e["seller_fee"]:
                keys.append((0, fee_asset, seq, "fee"))
    return keys


@pytest.mark.parametrize("kill_after_s", [0.4, 1.1, 1.9])
def test_kill_9_under_load_loses_nothing_acknowledged(
    engine_runner, persistence_worker, demo_markets, django_user_model, redis_conn, kill_after_s
):
    # Snapshots by time, several per run, each some persistence hand-offs (every 0.1 s) apart.
    engine_runner.env["ENGINE_SNAPSHOT_EVERY_COMMANDS"] = "100000"
    engine_runner.env["ENGINE_SNAPSHOT_EVERY_S"] = "0.5"
    monitor = StreamMonitor(redis_conn)
    monitor.start()
    with ThreadPoolExecutor() as starting:  # the two start up (import Django) side by side
        worker_started = starting.submit(persistence_worker.start) if PERSISTS else None
        engine_runner.start()
        if worker_started:
            worker_started.result()
    # No passwords: hashing one takes half a second, and these users never log in.
    users = [django_user_model.objects.create(username=f"trader{i}") for i in range(TRADERS)]
    for i, user in enumerate(users):
        for asset, amount in (("SOL", 10_000 * 10**9), ("USDC", 10_000_000 * 10**6)):
            events = submit(
                Deposit(ts=0, account=user.pk, asset=asset, amount=amount, tx_id=f"crash-{i}-{asset}")
            )
            assert events[0]["type"] == "Deposited"

    replies: dict = {}
    lock = threading.Lock()
    deadline = time.monotonic() + 3.0
    threads = [
        threading.Thread(target=trader, args=(u.pk, 1000 + i, deadline, replies, lock))
        for i, u in enumerate(users)
    ]
    for t in threads:
        t.start()
    time.sleep(kill_after_s)
    unfinished = kill_9_inside_a_batch(persistence_worker) if PERSISTS else set()
    killed_at = time.monotonic()
    covered_seq, handed_off_beyond = kill_9_with_events_beyond_snapshot(
        engine_runner, redis_conn, persistence_worker.queue
    )
    time.sleep(0.3)
    engine_runner.start()
    # The restart resumed from the snapshot seen at the kill, so it hands those events over again.
    log = engine_runner.log_path.read_text()
    assert re.findall(r"restored snapshot at stream id \S+ \(seq (\d+)\)", log) == [str(covered_seq)]
    if PERSISTS:
        # The broker hands a dead worker's unacknowledged batches out again once they are older
        # than the visibility timeout; a worker starting after that takes them.
        time.sleep(max(0.0, killed_at + Worker.VISIBILITY_TIMEOUT_S + 0.5 - time.monotonic()))
        persistence_worker.start()
    for t in threads:
        t.join()
    wait_until(lambda: caught_up(redis_conn), 30, "the engine to catch up with the command stream")
    # SIGTERM: finish the batch, hand the last events to persistence, snapshot, exit 0
    assert engine_runner.stop() == 0, engine_runner.log_path.read_text()[-4000:]
    monitor.stop.set()
    monitor.join()

    reference, reference_replies, reference_events = replay_reference(monitor.entries)
    acknowledged = {k: v for k, v in replies.items() if k[0] == "place"}
    assert len(acknowledged) > 50
    for key, events in acknowledged.items():
        assert events == reference_replies[key], key

    first_kept = redis_conn.xrange(COMMAND_STREAM, count=1)[0][0].decode()
    assert stream_ts(first_kept) > stream_ts(monitor.entries[0][0])  # the log had been trimmed

    final = snapshots.load_newest(engine_runner.snapshot_dir)
    assert final.stream_id == monitor.entries[-1][0]
    restarted = Engine.restore(final.core)
    assert restarted.snapshot() == reference.snapshot()

    for asset in ("SOL", "USDC"):
        deposited = sum(
            json.loads(f[b"cmd"])["amount"]
            for _i, f in monitor.entries
            if json.loads(f[b"cmd"])["type"] == "Deposit" and json.loads(f[b"cmd"])["asset"] == asset
        )
        held = sum(sum(restarted.balance(acct, asset)) for acct in [0, *[u.pk for u in users]])
        assert held == deposited, asset
    assert settings.REDIS_URL  # the run used the real Redis

    if not PERSISTS:
        return
    settled = persistence_settled(redis_conn, persistence_worker.queue, history_counts)
    wait_until(settled, 60, "the worker to drain its queue", persistence_worker.log, pause=0.25)
    # The batch the worker died in (and any it had taken besides) ran to completion after it.
    assert unfinished
    assert unfinished <= persist_tasks(persistence_worker, "succeeded"), persistence_worker.log()
    accounts = [0, *[u.pk for u in users]]
    trades = [e for e in reference_events if e["type"] == "Trade"]
    assert len(trades) > 20
    assert [t["trade_id"] for t in trades] == list(range(1, len(trades) + 1))

    # Trades: exactly the reference's, each once (a list, not a set: a duplicate would show).
    stored_trade_ids = sorted(Trade.objects.values_list("trade_id", flat=True))
    duplicated = {tid: n for tid, n in Counter(stored_trade_ids).items() if n > 1}
    assert duplicated == {}
    assert stored_trade_ids == [t["trade_id"] for t in trades]
    assert sorted(
        Trade.objects.values_list(
            "market__symbol", "trade_id", "seq", "ts", "price", "quantity", "quote_quantity",
            "buyer_order_id", "seller_order_id", "is_buyer_maker",
        )
    ) == [
        (t["market"], t["trade_id"], t["seq"], t["ts"], t["price"], t["quantity"], t["quote_quantity"],
         t["buyer_order_id"], t["seller_order_id"], t["is_buyer_maker"])
        for t in trades
    ]  # fmt: skip

    # Fills: two per trade (maker and taker), each the reference's OrderFilled event.
    assert Counter(Fill.objects.values_list("trade_id", flat=True)) == {t["trade_id"]: 2 for t in trades}
    assert sorted(
        Fill.objects.values_list(
            "seq", "user_id", "order_id", "trade_id", "side", "price", "quantity", "quote_quantity",
            "fee", "fee_asset", "is_maker",
        )
    ) == [
        (e["seq"], e["account"], e["order_id"], e["trade_id"], e["side"], e["fill_price"], e["fill_quantity"],
         e["fill_quote_quantity"], e["fee"], e["fee_asset"], e["is_maker"])
        for e in reference_events
        if e["type"] == "OrderFilled"
    ]  # fmt: skip

    # Ledger: one entry per balance change of the reference, none twice; summed per account and
    # asset, the entries are the reference's final balances (available + locked).
    expected_keys = ledger_keys(reference_events)
    stored_keys = list(LedgerEntry.objects.values_list("account", "asset", "seq", "cause"))
    assert {k: n for k, n in Counter(stored_keys).items() if n > 1} == {}
    assert sorted(stored_keys) == sorted(expected_keys)
    totals = {
        (acct, asset): total
        for acct, asset, total in LedgerEntry.objects.values_list("account", "asset").annotate(Sum("amount"))
    }
    assert totals == {
        (acct, asset): sum(reference.balance(acct, asset)) for acct, asset, _s, _c in expected_keys
    }
    assert {acct for acct, _asset in totals} == set(accounts)

    # Deposits: the eight of the test, once each.
    assert sorted(
        Transfer.objects.values_list("tx_id", "kind", "account", "asset", "amount", "seq")
    ) == sorted(
        (e["tx_id"], "deposit", e["account"], e["asset"], e["amount"], e["seq"])
        for e in reference_events
        if e["type"] == "Deposited"
    )
    assert Transfer.objects.count() == 2 * TRADERS

    # Orders: every order of the reference in the state of its last event; among them every
    # order a client was told about.
    last_event = {e["order_id"]: e for e in reference_events if e["type"] in ORDER_EVENTS}
    stored_orders = {
        oid: rest
        for oid, *rest in Order.objects.values_list(
            "order_id", "user_id", "status", "executed_quantity", "executed_quote_quantity", "last_seq"
        )
    }
    assert stored_orders == {
        oid: [e["account"], e["status"], e["executed_quantity"], e["executed_quote_quantity"], e["seq"]]
        for oid, e in last_event.items()
    }
    told = {e["order_id"] for events in acknowledged.values() for e in events if e["type"] == "OrderAccepted"}
    assert len(told) > 50
    assert told <= stored_orders.keys()

    # Candles: every trade counted once in every interval (a batch merged twice would double them).
    volume = (len(trades), sum(t["quantity"] for t in trades), sum(t["quote_quantity"] for t in trades))
    assert {
        row["interval"]: (row["n"], row["v"], row["q"])
        for row in Candle.objects.values("interval").annotate(
            n=Sum("trades"), v=Sum("volume"), q=Sum("quote_volume")
        )
    } == dict.fromkeys(INTERVAL_NAMES, volume)

    # All of that although the worker ran some events twice: those the first engine handed off
    # beyond its snapshot came again from the replay after the restart.
    persisted_events = sum(1 for e in reference_events if e["type"] in PERSISTED_EVENTS)
    assert batches_offered(persistence_worker) - persisted_events >= handed_off_beyond > 0
