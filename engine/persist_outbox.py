"""The persistence outbox: every batch the engine hands to persistence, kept in Redis until a
worker has committed it.

Why not just the Celery message: kombu's Redis transport takes a message off the queue (BRPOP)
before it records it as unacknowledged, so a worker process that dies in between loses the
message for good — and the engine trims its command stream after each snapshot, so a replay
could not bring those events back either. The batch itself therefore goes into the stream
``persist.outbox`` (``XADD``, before the engine snapshots or trims anything), and the Celery task
carries only its entry id. A worker reads the batch by id, writes it (idempotent), and deletes
the entry after its transaction committed. A worker that starts hands every entry still in the
outbox to persistence again: an entry whose task is still queued is then written twice, which
changes nothing (or read as gone, which is skipped), and an entry whose message was lost is
written at last.
"""

from __future__ import annotations

OUTBOX_STREAM = "persist.outbox"
_FIELD = b"b"


def put(redis, payload: bytes) -> str:
    """Store one encoded batch; its entry id (what the task carries)."""
    entry_id = redis.xadd(OUTBOX_STREAM, {_FIELD: payload})
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def take(redis, entry_id: str) -> bytes | None:
    """The encoded batch of ``entry_id``; ``None`` once it has been written and removed."""
    entries = redis.xrange(OUTBOX_STREAM, entry_id, entry_id, count=1)
    if not entries:
        return None
    return entries[0][1][_FIELD]


def done(redis, entry_id: str) -> None:
    """The batch is committed to the database: drop it from the outbox."""
    redis.xdel(OUTBOX_STREAM, entry_id)


def pending(redis) -> list[str]:
    """Entry ids still in the outbox, oldest first."""
    ids: list[str] = []
    start = "-"
    while True:
        entries = redis.xrange(OUTBOX_STREAM, start, "+", count=1000)
        for entry_id, _fields in entries:
            ids.append(entry_id.decode() if isinstance(entry_id, bytes) else entry_id)
        if len(entries) < 1000:
            return ids
        start = "(" + ids[-1]
