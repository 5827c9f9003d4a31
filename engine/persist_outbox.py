"""The persistence outbox: every batch the engine hands to persistence, kept in Redis until a
worker has committed it.

Why not just the Celery message: kombu's Redis transport takes a message off the queue (BRPOP)
before it records it as unacknowledged, so a worker process that dies in between loses the
message for good — and the engine trims its command stream after each snapshot, so a replay
could not bring those events back either. So the batch goes into the outbox first (before the
engine snapshots or trims anything), and the Celery task carries only its entry id. A worker
reads the batch by id, writes it (idempotent), and removes it once its transaction committed.
Entries whose message may have been lost are queued again: all of them when a worker starts
(``tasks.hand_over_the_outbox``), and those older than ``RESEND_AFTER_MS`` now and then by any
worker that runs. A batch queued twice is written twice, which changes nothing, or found gone,
which is skipped.

Layout: the stream ``<name>`` holds one small entry per batch (its id is the handle, and its
time says how old the batch is); the batch itself is the string ``<name>:<id>``, so that
listing the outbox never moves the batches. The name includes the database's, so that engines
and workers of different databases sharing one Redis never take each other's batches. A batch
that cannot be written at all (not a retryable error) moves to ``<name>.dead``.
"""

from __future__ import annotations

import time

from django.db import connection

# Lost messages come back after a worker restart at once; otherwise after this long. Well past
# the broker's visibility timeout, so an entry whose task is merely waiting in a backlog is
# rarely queued twice.
RESEND_AFTER_MS = 15 * 60 * 1000


def stream() -> str:
    name = str(connection.settings_dict["NAME"]).rsplit("/", 1)[-1]
    return f"persist.outbox.{name}"


def _payload_key(entry_id: str) -> str:
    return f"{stream()}:{entry_id}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def put(redis, payload: bytes) -> str:
    """Store one encoded batch; its entry id (what the task carries). An engine that dies
    between the two writes leaves an entry without a batch, read as already written: harmless,
    since no snapshot covers those events yet and the restart replays them."""
    name = stream()
    entry_id = _text(redis.xadd(name, {"n": len(payload)}))
    redis.set(f"{name}:{entry_id}", payload)
    return entry_id


def take(redis, entry_id: str) -> bytes | None:
    """The encoded batch of ``entry_id``; ``None`` once it has been written and removed."""
    return redis.get(_payload_key(entry_id))


def done(redis, entry_id: str) -> None:
    """The batch is committed to the database: drop it from the outbox."""
    with redis.pipeline(transaction=True) as pipe:
        pipe.xdel(stream(), entry_id)
        pipe.delete(_payload_key(entry_id))
        pipe.execute()


def bury(redis, entry_id: str) -> None:
    """The batch cannot be written (it failed with an error that retrying does not cure): out of
    the outbox, onto ``<name>.dead`` for an operator, its payload kept."""
    name = stream()
    with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(f"{name}.dead", {"id": entry_id})
        pipe.xdel(name, entry_id)
        pipe.rename(f"{name}:{entry_id}", f"{name}.dead:{entry_id}")
        pipe.execute()


def pending(redis, older_than_ms: int = 0) -> list[str]:
    """Ids of the batches still in the outbox (those older than ``older_than_ms``), oldest
    first."""
    upper = "+" if older_than_ms <= 0 else str(time.time_ns() // 1_000_000 - older_than_ms)
    ids: list[str] = []
    start = "-"
    while True:
        entries = redis.xrange(stream(), start, upper, count=1000)
        ids.extend(_text(entry_id) for entry_id, _ in entries)
        if len(entries) < 1000:
            return ids
        start = "(" + ids[-1]
