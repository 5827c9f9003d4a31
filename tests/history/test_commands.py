"""``rebuild_engine_state`` and ``reconcile`` as an operator runs them."""

from __future__ import annotations

import io
import json
import threading

import pytest
from django.core.management import call_command

from engine import commandlog, lease, snapshots
from engine.core import Engine
from exchange_site.redis_client import get_redis
from history import state
from history.models import LedgerEntry
from tests.conftest import take_lease

pytestmark = pytest.mark.services


def run(command: str, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def stopped_with_its_log(exchange) -> commandlog.LogInfo:
    """The session's engine stopped, its command log left in Redis."""
    exchange.stop()
    held = take_lease()
    made = commandlog.genesis(get_redis(), held)
    lease.release(get_redis(), held)
    return made


@pytest.fixture
def snapshot_dir(settings, tmp_path):
    settings.ENGINE_SNAPSHOT_DIR = tmp_path / "snapshots"
    return settings.ENGINE_SNAPSHOT_DIR


def balances(engine: Engine) -> dict:
    return {(a, s): (av, lk) for a, s, av, lk in engine.iter_balances() if av or lk}


def test_rebuild_writes_the_databases_state_as_the_snapshot_the_engine_starts_from(exchange, snapshot_dir):
    exchange.trade_randomly(120, seed=1)
    exchange.persist()
    log = stopped_with_its_log(exchange)
    snapshots.write(snapshot_dir, snapshots.SnapshotData("1-0", Engine().snapshot(), {}, "another-log"))
    position = state.latest()

    code, out, _err = run("rebuild_engine_state")

    assert code == 0
    assert out.startswith(
        f"rebuilt the engine's state at seq {position.seq} (stream id {position.stream_id})"
    )
    data = snapshots.load_newest(snapshot_dir)
    assert (data.stream_id, data.log_id) == (position.stream_id, log.id)
    rebuilt = Engine.restore(data.core)
    assert balances(rebuilt) == balances(exchange.engine)
    assert [o.view() for o in rebuilt.all_open_orders()] == [
        o.view() for o in exchange.engine.all_open_orders()
    ]
    [aside] = snapshot_dir.glob("replaced-*/snapshot-*.bin")
    assert aside.name == "snapshot-000000000000001-0000000000.bin"
    assert not get_redis().exists(lease.LEASE_KEY)  # given back


def test_rebuild_refuses_while_an_engine_runs(exchange, snapshot_dir):
    exchange.trade_randomly(40, seed=2)
    exchange.persist()
    stopped_with_its_log(exchange)
    running = take_lease()
    get_redis().set(lease.STATUS_KEY, json.dumps({"token": running.token, "stream_id": "1-0"}))
    renewing = threading.Event()

    def renew() -> None:  # as a live engine does with every flush
        while not renewing.wait(0.1):
            get_redis().set(lease.LEASE_KEY, running.token, px=running.ttl_ms)

    threading.Thread(target=renew, daemon=True).start()
    try:
        code, _out, err = run("rebuild_engine_state")
    finally:
        renewing.set()

    assert code == 2
    assert err.startswith("error: another engine holds the lease")
    assert err.endswith("; stop the engine first\n")
    assert not snapshot_dir.exists()


def test_rebuild_refuses_a_log_trimmed_past_the_databases_checkpoint(exchange, snapshot_dir, redis_conn):
    exchange.trade_randomly(40, seed=3)
    exchange.persist()
    stopped_with_its_log(exchange)
    redis_conn.hset(commandlog.LOG_KEY, "trimmed_to", "99999999999999-0")

    code, _out, err = run("rebuild_engine_state")

    assert code == 2
    assert err.startswith("error: the command log was trimmed up to 99999999999999-0, past the database's")
    assert "--new-log" in err


def test_rebuild_with_a_new_log_starts_the_log_at_the_databases_checkpoint(
    exchange, snapshot_dir, redis_conn
):
    exchange.trade_randomly(40, seed=4)
    exchange.persist()
    exchange.stop()
    redis_conn.delete(commandlog.LOG_KEY, commandlog.COMMAND_STREAM, lease.LEASE_KEY)  # Redis lost them
    position = state.latest()

    code, out, _err = run("rebuild_engine_state", "--new-log")

    assert code == 0
    assert "a new command log starts there" in out
    info = commandlog.read(get_redis())
    assert info.trimmed_to == position.stream_id
    assert snapshots.load_newest(snapshot_dir).log_id == info.id
    appended = redis_conn.xadd(commandlog.COMMAND_STREAM, {"cmd": "{}"}).decode()
    assert commandlog.stream_key(appended) > commandlog.stream_key(position.stream_id)


def test_reconcile_says_the_engine_and_the_database_agree(exchange, snapshot_dir):
    exchange.trade_randomly(80, seed=5)
    exchange.persist()
    seq, (stream_id, engine_state) = max(exchange.kept.items())
    snapshots.write(snapshot_dir, snapshots.SnapshotData(stream_id, engine_state, {}))

    code, out, _err = run("reconcile")

    assert code == 0
    assert out.startswith(f"the engine and the database agree at seq {seq} (stream id {stream_id},")
    assert json.loads(get_redis().get("reconcile.last"))["differences"] == 0


def test_reconcile_prints_every_difference_and_exits_1(exchange, snapshot_dir):
    exchange.trade_randomly(80, seed=6)
    exchange.persist()
    _seq, (stream_id, engine_state) = max(exchange.kept.items())
    snapshots.write(snapshot_dir, snapshots.SnapshotData(stream_id, engine_state, {}))
    entry = LedgerEntry.objects.filter(asset="SOL").order_by("-id").first()
    LedgerEntry.objects.filter(pk=entry.pk).update(amount=entry.amount - 5)

    code, out, _err = run("reconcile")

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"balance of account {entry.account} in SOL (available, locked)")
    assert lines[1].startswith("SOL: the database's ledger holds (fees included) ")
    assert lines[2].startswith("2 difference(s) between the engine and the database at seq")


def test_reconcile_waits_for_the_database_and_says_what_it_could_not_compare(exchange, snapshot_dir):
    exchange.trade_randomly(40, seed=7)  # nothing persisted
    _seq, (stream_id, engine_state) = max(exchange.kept.items())
    snapshots.write(snapshot_dir, snapshots.SnapshotData(stream_id, engine_state, {}))

    code, out, _err = run("reconcile", "--wait", "0.3")

    assert code == 0
    assert out.startswith("not compared: the database's history reaches seq 0; the snapshots kept are at seq")
