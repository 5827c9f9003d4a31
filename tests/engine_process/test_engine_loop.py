"""The engine process's loop against the real Redis."""

from __future__ import annotations

import pytest

from engine.client import submit
from engine.core.messages import Deposit

pytestmark = pytest.mark.services


def test_engine_keeps_serving_after_its_command_stream_is_deleted(engine_process, redis_conn):
    first = submit(Deposit(ts=0, account=7, asset="USDC", amount=5, tx_id="before-flush"))
    assert first[0]["type"] == "Deposited"
    redis_conn.flushdb()  # the stream, its consumer group and the caches vanish
    second = submit(Deposit(ts=0, account=7, asset="USDC", amount=3, tx_id="after-flush"), timeout=10)
    assert [e["type"] for e in second] == ["Deposited"]
    assert engine_process.proc.poll() is None


def test_sigterm_writes_a_final_snapshot_and_exits_zero(engine_process):
    submit(Deposit(ts=0, account=7, asset="USDC", amount=5, tx_id="one"))
    assert engine_process.stop() == 0
    assert list(engine_process.snapshot_dir.glob("snapshot-*.bin"))
