"""Snapshot files: atomic, verified, and a damaged newest one falls back to the previous."""

from __future__ import annotations

from engine import snapshots
from engine.snapshots import SnapshotData


def make(stream_id: str, core: bytes = b"core-bytes") -> SnapshotData:
    return SnapshotData(
        stream_id=stream_id, core=core, extras={"tickers": {"SOL_USDC": (5, [(0, 1, 2, 3, 4, 5, 6, 7)])}}
    )


def test_snapshot_round_trips_stream_id_core_and_extras(tmp_path):
    snapshots.write(tmp_path, make("1700000000000-3"))
    loaded = snapshots.load_newest(tmp_path)
    assert loaded.stream_id == "1700000000000-3"
    assert loaded.core == b"core-bytes"
    assert loaded.extras == {"tickers": {"SOL_USDC": (5, [(0, 1, 2, 3, 4, 5, 6, 7)])}}


def test_newest_snapshot_is_loaded(tmp_path):
    snapshots.write(tmp_path, make("100-0", b"old"))
    snapshots.write(tmp_path, make("200-0", b"new"))
    assert snapshots.load_newest(tmp_path).core == b"new"


def test_truncated_newest_snapshot_falls_back_to_previous(tmp_path):
    snapshots.write(tmp_path, make("100-0", b"old"))
    newest = snapshots.write(tmp_path, make("200-0", b"new"))
    newest.write_bytes(newest.read_bytes()[:-10])
    loaded = snapshots.load_newest(tmp_path)
    assert (loaded.stream_id, loaded.core) == ("100-0", b"old")


def test_corrupted_byte_in_newest_snapshot_falls_back_to_previous(tmp_path):
    snapshots.write(tmp_path, make("100-0", b"old"))
    newest = snapshots.write(tmp_path, make("200-0", b"new-state"))
    raw = bytearray(newest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    newest.write_bytes(bytes(raw))
    assert snapshots.load_newest(tmp_path).stream_id == "100-0"


def test_no_valid_snapshot_means_none(tmp_path):
    (tmp_path / "snapshot-000000000000100-0000000000.bin").write_bytes(b"garbage")
    assert snapshots.load_newest(tmp_path) is None


def test_only_the_newest_three_snapshots_are_kept(tmp_path):
    for i in range(1, 6):
        snapshots.write(tmp_path, make(f"{i}00-0"))
    names = sorted(p.name for p in tmp_path.glob("snapshot-*.bin"))
    assert names == [
        "snapshot-000000000000300-0000000000.bin",
        "snapshot-000000000000400-0000000000.bin",
        "snapshot-000000000000500-0000000000.bin",
    ]
