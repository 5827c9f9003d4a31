"""Snapshot files of the engine process: written atomically, verified on load.

A file holds the core's snapshot, the process's own state (tickers), the id of the last
command-stream entry applied and the id of the command log it belongs to
(``engine.commandlog``). Layout: ``MAGIC | header length | header JSON | payload | digest``
where the digest (BLAKE2b) covers everything before it, so a truncated or corrupted file is
detected and the previous one is used instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from engine.commandlog import stream_key

log = logging.getLogger(__name__)

MAGIC = b"EXSNAP1\n"
DIGEST_SIZE = 32
KEEP = 3


class CorruptSnapshot(Exception):
    pass


@dataclass
class SnapshotData:
    stream_id: str  # last applied command stream entry id ("0-0" = none)
    core: bytes
    extras: dict  # marshal-able process state
    log_id: str | None = None  # the command log's id; None in files of releases before it
    written_at_ms: int | None = None  # when the file was written (its modification time), on load


def encode(data: SnapshotData) -> bytes:
    header = json.dumps(
        {"stream_id": data.stream_id, "core_len": len(data.core), "log_id": data.log_id}
    ).encode()
    body = MAGIC + struct.pack(">I", len(header)) + header + data.core + marshal.dumps(data.extras)
    return body + hashlib.blake2b(body, digest_size=DIGEST_SIZE).digest()


def decode(raw: bytes) -> SnapshotData:
    if len(raw) < len(MAGIC) + 4 + DIGEST_SIZE or not raw.startswith(MAGIC):
        raise CorruptSnapshot("not a snapshot file")
    body, digest = raw[:-DIGEST_SIZE], raw[-DIGEST_SIZE:]
    if hashlib.blake2b(body, digest_size=DIGEST_SIZE).digest() != digest:
        raise CorruptSnapshot("checksum mismatch (truncated or corrupted)")
    (header_len,) = struct.unpack(">I", body[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    header = json.loads(body[start : start + header_len])
    core_start = start + header_len
    core = body[core_start : core_start + header["core_len"]]
    extras = marshal.loads(body[core_start + header["core_len"] :])
    return SnapshotData(stream_id=header["stream_id"], core=core, extras=extras, log_id=header.get("log_id"))


def write(directory: Path, data: SnapshotData) -> Path:
    """Write atomically (temp file, fsync, rename, fsync dir) and keep the newest ``KEEP``: the
    engine trims its command log only up to the oldest one kept (``oldest_kept``), so that it
    can fall back to any of them."""
    directory.mkdir(parents=True, exist_ok=True)
    ms, seq = stream_key(data.stream_id)
    final = directory / f"snapshot-{ms:015d}-{seq:010d}.bin"
    tmp = final.with_suffix(f".{os.getpid()}.tmp")  # a writer of its own: the engine's fork or itself
    with open(tmp, "wb") as fh:
        fh.write(encode(data))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    for old in _files(directory)[:-KEEP]:
        old.unlink(missing_ok=True)
    return final


def _files(directory: Path) -> list[Path]:
    """The snapshot files, oldest first (their names sort as their stream ids)."""
    return sorted(directory.glob("snapshot-*.bin"))


def stream_id_of(path: Path) -> str:
    _, ms, seq = path.stem.split("-")
    return f"{int(ms)}-{int(seq)}"


def oldest_kept(directory: Path) -> str | None:
    """The stream id of the oldest snapshot file kept, whether it verifies or not."""
    files = _files(directory)
    return stream_id_of(files[0]) if files else None


def load_newest(directory: Path) -> SnapshotData | None:
    """The newest snapshot that verifies; corrupt ones are logged and skipped."""
    for path in reversed(_files(directory)):
        try:
            data = decode(path.read_bytes())
            data.written_at_ms = int(path.stat().st_mtime * 1000)
            return data
        except (CorruptSnapshot, ValueError, EOFError, KeyError) as exc:
            log.error("skipping snapshot %s: %s", path.name, exc)
    return None
