"""The engine process's loop against the real Redis."""

from __future__ import annotations

import time

import pytest

from engine.client import COMMAND_STREAM, submit
from engine.core.messages import Deposit

pytestmark = pytest.mark.services


def last_generated_id(redis_conn) -> tuple[int, int]:
    """The id the stream's next append must exceed; (0, 0) while there is no stream."""
    if not redis_conn.exists(COMMAND_STREAM):
        return (0, 0)
    ms, seq = redis_conn.xinfo_stream(COMMAND_STREAM)["last-generated-id"].decode().split("-")
    return (int(ms), int(seq))


def test_engine_keeps_serving_after_its_command_stream_is_deleted(engine_process, redis_conn):
    first = submit(Deposit(ts=0, account=7, asset="USDC", amount=5, tx_id="before-flush"))
    assert first[0]["type"] == "Deposited"
    redis_conn.flushdb()  # the stream, its consumer group and the caches vanish
    # Once the engine has made its log again, commands are numbered after the last one it applied
    # (an append within the same millisecond would otherwise get an id the group counts as read).
    deadline = time.monotonic() + 10
    while last_generated_id(redis_conn) < (first[0]["ts"], 0):  # the ts is the entry id's
        assert time.monotonic() < deadline, "the engine did not recreate its command stream"
        time.sleep(0.01)
    second = submit(Deposit(ts=0, account=7, asset="USDC", amount=3, tx_id="after-flush"), timeout=10)
    assert [e["type"] for e in second] == ["Deposited"]
    assert engine_process.proc.poll() is None


def test_sigterm_writes_a_final_snapshot_and_exits_zero(engine_process):
    submit(Deposit(ts=0, account=7, asset="USDC", amount=5, tx_id="one"))
    assert engine_process.stop() == 0
    assert list(engine_process.snapshot_dir.glob("snapshot-*.bin"))
