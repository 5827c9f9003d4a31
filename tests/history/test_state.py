"""The database is a second copy of the engine's state: from the persistence batches the engine
hands over (each with its checkpoint) it rebuilds the engine's exact state at every checkpoint,
and ``reconcile`` finds any difference between the two. The sessions: ``tests.history.session``."""

from __future__ import annotations

import pytest

from contract import jsonfast
from engine.core import Engine
from engine.snapshots import SnapshotData
from exchange_site.redis_client import get_redis
from history import state
from history.models import Checkpoint, LedgerEntry
from history.outbox import outbox

pytestmark = pytest.mark.services


def test_the_database_rebuilds_the_engines_state_at_every_checkpoint(exchange):
    exchange.trade_randomly(400, seed=7)
    exchange.persist()

    compared = 0
    for seq, (stream_id, engine_state) in exchange.kept.items():
        position = state.at(seq)
        assert position is not None and position.stream_id == stream_id
        assert state.differences(SnapshotData(stream_id, engine_state, {}), position) == []
        compared += 1
    assert compared == 10
    assert Checkpoint.objects.filter(stream_id="").exists()  # batches a candle's close cut short


def test_the_rebuilt_state_has_the_engines_balances_open_orders_and_counters(exchange):
    exchange.trade_randomly(200, seed=11)
    exchange.persist()
    engine = exchange.engine

    rebuilt = Engine.restore(state.snapshot_at(state.latest(), log_id="a-log").core)

    def balances(e: Engine) -> dict:
        return {(a, s): (av, lk) for a, s, av, lk in e.iter_balances() if av or lk}

    assert balances(rebuilt) == balances(engine)
    assert [o.view() for o in rebuilt.all_open_orders()] == [o.view() for o in engine.all_open_orders()]
    assert len(engine.all_open_orders()) > 10
    pending = [o for o in engine.all_open_orders() if o.status == "TriggerPending"]
    placed = [o for o in engine.all_open_orders() if o.trigger_price is not None and o.priority != o.order_id]
    assert (len(pending) > 0, len(placed) > 0) == (True, True)  # trigger orders waiting and placed
    assert (rebuilt.last_seq, rebuilt.last_order_id) == (engine.last_seq, engine.last_order_id)
    assert rebuilt.book_counters("SOL_USDC") == engine.book_counters("SOL_USDC")
    assert engine.last_trade_id("SOL_USDC") > 20
    assert rebuilt.depth("SOL_USDC") == engine.depth("SOL_USDC")


def test_the_database_stands_at_the_last_checkpoint_before_a_missing_batch(exchange):
    exchange.trade_randomly(120, seed=3)
    begins, _ends = jsonfast.loads(outbox().take(get_redis(), exchange.entries[2]))["coverage"]
    exchange.persist(skip={2})
    reached = state.latest().seq

    exchange.persist()  # the missing batch comes (a worker requeued it)

    assert reached == max(seq for seq in exchange.kept if seq <= begins) < max(exchange.kept)
    assert state.latest().seq == max(exchange.kept)


def test_a_compacted_chain_still_rebuilds_the_same_state(exchange):
    exchange.trade_randomly(120, seed=5)
    exchange.persist()
    before = state.snapshot_at(state.latest(), log_id=None).core

    folded = state.compact()

    assert Checkpoint.objects.count() == 1 and Checkpoint.objects.get().base
    assert state.latest().seq == folded.seq == max(exchange.kept)
    assert state.snapshot_at(state.latest(), log_id=None).core == before


def test_reconcile_reports_a_corrupted_ledger_row(exchange):
    exchange.trade_randomly(120, seed=9)
    exchange.persist()
    seq, (stream_id, engine_state) = max(exchange.kept.items())
    entry = LedgerEntry.objects.filter(asset="USDC", cause="trade").order_by("id").first()
    entry.amount += 1
    entry.save()

    found = state.differences(SnapshotData(stream_id, engine_state, {}), state.at(seq))

    available, locked = Engine.restore(engine_state).balance(entry.account, "USDC")
    assert found[0] == (
        f"balance of account {entry.account} in USDC (available, locked): engine {(available, locked)},"
        f" database {(available + 1, locked)}"
    )
    assert found[1].startswith("USDC: the database's ledger holds (fees included) ")
    assert len(found) == 2  # the engine's own totals still match the deposits: the ledger is wrong
