"""The engine process's loop against the real Redis."""

from __future__ import annotations

import pytest

from engine.client import submit
from engine.commandlog import COMMAND_STREAM
from engine.core.messages import Deposit
from tests.conftest import run_manage

pytestmark = pytest.mark.services


def test_an_engine_whose_redis_lost_its_data_stops_without_writing(engine_process, redis_conn):
    submit(Deposit(ts=0, account=7, asset="USDC", amount=5, tx_id="before-flush"))

    redis_conn.flushdb()  # the log, the lease and the caches vanish

    assert engine_process.proc.wait(10) == 3
    assert "error: the engine lost its lease" in engine_process.log_path.read_text()
    assert not redis_conn.exists(COMMAND_STREAM)  # no new, empty log made in its place


def test_an_engine_refuses_to_start_on_a_redis_that_lost_its_log(engine_process, redis_conn):
    submit(Deposit(ts=0, account=7, asset="USDC", amount=5, tx_id="one"))
    assert engine_process.stop() == 0  # a final snapshot
    redis_conn.flushdb()

    started = run_manage("run_engine", env=engine_process.env)

    assert started.returncode == 2
    line = started.stderr.splitlines()[-1]  # after the engine's log lines
    assert line.startswith("error: the command log is gone from Redis")
    assert "rebuild_engine_state --new-log" in line


def test_sigterm_writes_a_final_snapshot_and_exits_zero(engine_process):
    submit(Deposit(ts=0, account=7, asset="USDC", amount=5, tx_id="one"))
    assert engine_process.stop() == 0
    assert list(engine_process.snapshot_dir.glob("snapshot-*.bin"))
