"""The engine killed under load, and its newest snapshot damaged on disk: the restart skips it,
restores the one before, and replays the command log from there (which was trimmed only up to
the oldest snapshot kept), so that nothing acknowledged is lost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine import commandlog, snapshots

from .conftest import Load, assert_exchange_consistent

pytestmark = pytest.mark.services


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the engine's fork()ed snapshot writer)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, IndexError):
            continue
        if int(ppid) == pid and state != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def damage(path: Path) -> None:
    """Overwrite 16 bytes in the middle of the file with their complement (the size stays)."""
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 16] = bytes(b ^ 0xFF for b in raw[middle : middle + 16])
    path.write_bytes(bytes(raw))


def test_a_damaged_newest_snapshot_is_skipped_and_the_one_before_plus_the_log_restore_everything(cluster):
    crashed = cluster.engines[0]
    load = Load(cluster, seed=4).start()
    cluster.wait_until(
        lambda: len(list(cluster.snapshot_dir.glob("snapshot-*.bin"))) >= snapshots.KEEP,
        30,
        f"{snapshots.KEEP} snapshots",
    )
    time.sleep(0.5)

    writers = children_of(crashed.pid)
    crashed.kill9()
    # A snapshot writer the engine had forked finishes its file: only then is "newest" known.
    cluster.wait_until(lambda: not any(alive(pid) for pid in writers), 15, "the orphaned snapshot writer")
    *_, previous, newest = sorted(cluster.snapshot_dir.glob("snapshot-*.bin"))
    damage(newest)
    with pytest.raises(snapshots.CorruptSnapshot):
        snapshots.decode(newest.read_bytes())
    trimmed_to = commandlog.read(cluster.r).trimmed_to
    assert commandlog.stream_key(trimmed_to) <= commandlog.stream_key(snapshots.stream_id_of(previous))

    restarted = cluster.start_engine()
    log = restarted.stderr()
    assert f"skipping snapshot {newest.name}: checksum mismatch" in log, log[-3000:]
    assert f"restored snapshot at stream id {snapshots.stream_id_of(previous)} " in log, log[-3000:]
    assert cluster.wait_status("Ok")["status"] == "Ok"
    time.sleep(1.5)
    load.stop()
    assert len([r for r in load.acknowledged() if r.sent > restarted.started_at]) >= 10

    assert_exchange_consistent(cluster, load, restarted)
