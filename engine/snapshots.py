"""Snapshot files of the engine process: written atomically, verified on load.

A file holds the core's snapshot, the process's own state (tickers) and the id of the last
command-stream entry applied. Layout: ``MAGIC | header length | header JSON | payload | digest``
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


def encode(data: SnapshotData) -> bytes:
    header = json.dumps({"stream_id": data.stream_id, "core_len": len(data.core)}).encode()
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
    return SnapshotData(stream_id=header["stream_id"], core=core, extras=extras)


def _stream_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def write(directory: Path, data: SnapshotData) -> Path:
    """Write atomically (temp file, fsync, rename, fsync dir) and keep the newest ``KEEP``."""
    directory.mkdir(parents=True, exist_ok=True)
    ms, seq = _stream_key(data.stream_id)
    final = directory / f"snapshot-{ms:015d}-{seq:010d}.bin"
    tmp = final.with_suffix(".tmp")
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
    for old in sorted(directory.glob("snapshot-*.bin"))[:-KEEP]:
        old.unlink(missing_ok=True)
    return final


def load_newest(directory: Path) -> SnapshotData | None:
    """The newest snapshot that verifies; corrupt ones are logged and skipped."""
    for path in sorted(directory.glob("snapshot-*.bin"), reverse=True):
        try:
            return decode(path.read_bytes())
        except (CorruptSnapshot, ValueError, EOFError, KeyError) as exc:
            log.error("skipping snapshot %s: %s", path.name, exc)
    return None
