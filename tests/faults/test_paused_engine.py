"""An engine paused (SIGSTOP) longer than its lease: another engine takes over, and the paused
one, once it wakes (SIGCONT), writes nothing more and exits."""

from __future__ import annotations

import re
import signal
import threading
import time

import pytest

from engine.commandlog import stream_key

from .conftest import LEASE_TTL_S, Load, assert_exchange_consistent

pytestmark = pytest.mark.services


def snapshot_name(stream_id: str) -> str:
    ms, seq = stream_key(stream_id)
    return f"snapshot-{ms:015d}-{seq:010d}.bin"


class Watch(threading.Thread):
    """Looks, every few milliseconds, at the snapshot files (written or being written) and at
    who Redis says the engine is (its heartbeat and the lease), and records every file name and
    every other holder seen."""

    def __init__(self, cluster, engine):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.engine = engine
        self.files: set[str] = set()
        self.strangers: list[tuple[str, object]] = []  # heartbeats or leases of another process
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for path in self.cluster.snapshot_dir.glob("snapshot-*"):
                self.files.add(re.sub(r"(\.\d+)?\.tmp$", ".bin", path.name))
            status = self.cluster.engine_status()
            if status is not None and status["pid"] != self.engine.pid:
                self.strangers.append(("engine.status", status))
            holder = self.cluster.lease_holder()
            if holder is not None and not holder.endswith(f" pid {self.engine.pid}"):
                self.strangers.append(("engine.lease", holder))
            time.sleep(0.005)

    def stop(self) -> None:
        self.done.set()
        self.join(10)


def test_an_engine_paused_past_its_lease_is_replaced_and_writes_nothing_when_it_wakes(cluster):
    paused = cluster.engines[0]
    load = Load(cluster, seed=2).start()
    time.sleep(3)

    paused.send(signal.SIGSTOP)
    time.sleep(LEASE_TTL_S + 1)
    successor = cluster.start_engine()  # takes the lapsed lease over, replays the log, serves
    assert cluster.wait_status("Ok")["status"] == "Ok"
    assert cluster.lease_holder().endswith(f" pid {successor.pid}")

    files_before = {p.name for p in cluster.snapshot_dir.glob("snapshot-*.bin")}
    log_before = len(paused.stderr())
    watch = Watch(cluster, successor)
    watch.start()
    paused.send(signal.SIGCONT)
    code = paused.wait(timeout=15)
    time.sleep(1.0)  # anything the woken engine would still write shows by now
    watch.stop()
    time.sleep(1.0)
    load.stop()

    assert code == 3, cluster.logs()
    stderr = paused.stderr()
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0] == stderr.splitlines()[-1], stderr[-3000:]
    assert errors[0].startswith("error: the engine lost its lease"), errors[0]
    woken_log = stderr[log_before:]
    # No snapshot of its own (a child it forked before the pause may still be reaped: it wrote
    # the state of that moment, a valid one, and the trim it asks for is refused).
    assert "snapshot written:" not in woken_log, woken_log
    assert watch.strangers == []  # neither a heartbeat nor the lease of the woken engine
    assert successor.running()
    acknowledged_by_successor = [r for r in load.acknowledged() if r.sent > successor.started_at]
    assert len(acknowledged_by_successor) >= 20

    assert_exchange_consistent(cluster, load, successor)
    # Every snapshot file that appeared after the wake-up is one the successor says it wrote.
    successor_log = successor.stderr()
    written = {snapshot_name(s) for s in re.findall(r"snapshot at (\S+) written by child", successor_log)}
    written |= set(re.findall(r"snapshot written: (\S+)", successor_log))
    assert sorted(watch.files - files_before - written) == []
