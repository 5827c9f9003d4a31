"""The persistence outbox: every batch the engine hands to persistence, kept in Redis until a
worker has committed it.

Why not just the Celery message: kombu's Redis transport takes a message off the queue (BRPOP)
before it records it as unacknowledged, so a worker process that dies in between loses the
message for good — and the engine trims its command stream after each snapshot, so a replay
could not bring those events back either. So the batch goes into the outbox first (before the
engine snapshots or trims anything), and the Celery task carries only its entry id. A worker
reads the batch by id, writes it (idempotent), and removes it once its transaction committed.
Entries whose message may have been lost are queued again: all of them when a worker starts
(``history.tasks.hand_over_the_outbox``), and those older than ``RESEND_AFTER_MS`` now and then by any
worker that runs. A batch queued twice is written twice, which changes nothing, or found gone,
which is skipped.

Layout: the stream ``<name>`` holds one small entry per batch (its id is the handle, and its
time says how old the batch is; its field ``replay_from`` is the command-stream id from which
a replay regenerates the batch, see ``floor``); the batch itself is the string ``<name>:<id>``,
so that listing the outbox never moves the batches. The name includes the database's
(``contract.names.persist_outbox``), so that engines and workers of different databases sharing
one Redis never take each other's batches. A batch that cannot be written at all (not a
retryable error) moves to ``<name>.dead``.

Both sides use this one ``Outbox``: the engine queues batches into its flushes and keeps its log
from being trimmed past them (``floor``); the worker takes, writes and removes them
(``history.tasks``). Each is handed the outbox of its database (``history.outbox.outbox``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from contract.names import persist_outbox, stream_key

# Lost messages come back after a worker restart at once; otherwise after this long. Well past
# the broker's visibility timeout, so an entry whose task is merely waiting in a backlog is
# rarely queued twice.
RESEND_AFTER_MS = 15 * 60 * 1000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def entry_fields(payload: bytes, replay_from: str | None) -> dict:
    fields = {"n": len(payload)}
    if replay_from is not None:
        fields["replay_from"] = replay_from
    return fields


# KEYS: the outbox, the batch, the newest seq written. ARGV: the entry id, the batch's last seq.
DONE_SCRIPT = """
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if ARGV[2] ~= '' and tonumber(redis.call('GET', KEYS[3]) or '0') < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[3], ARGV[2])
end
"""

# KEYS: the outbox, its dead letters. ARGV: the dead letter's entry id. Puts the batch back into
# the outbox under a new entry (its fields kept); returns that entry's id, or nil when gone.
REVIVE_SCRIPT = """
local found = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields, original = found[1][2], nil
local kept = {}
for i = 1, #fields, 2 do
  if fields[i] == 'id' then original = fields[i + 1] else
    kept[#kept + 1] = fields[i]
    kept[#kept + 1] = fields[i + 1]
  end
end
if #kept == 0 then kept = {'n', '0'} end
local id = redis.call('XADD', KEYS[1], '*', unpack(kept))
redis.call('RENAME', KEYS[2] .. ':' .. original, KEYS[1] .. ':' .. id)
redis.call('XDEL', KEYS[2], ARGV[1])
return id
"""


@dataclass(frozen=True, slots=True)
class Outbox:
    """The persistence outbox called ``name`` (its stream's)."""

    name: str

    @classmethod
    def of_database(cls, database_name: str) -> Outbox:
        return cls(persist_outbox(database_name))

    def _payload_key(self, entry_id: str) -> str:
        return f"{self.name}:{entry_id}"

    def queue(self, batch, payload: bytes, replay_from: str) -> None:
        """Queue one encoded batch into a flush of the engine (``batch``: an
        ``engine.redis_batch.CommandBatch``): it lands with the flush, under the engine's lease,
        and the flush's reply gives its entry id (what the task carries)."""
        batch.outbox(self.name, payload, entry_fields(payload, replay_from))

    def put(self, redis, payload: bytes) -> str:
        """Store one encoded batch outside the engine (tools and tests that stand in for it); its
        entry id."""
        entry_id = _text(redis.xadd(self.name, entry_fields(payload, None)))
        redis.set(self._payload_key(entry_id), payload)
        return entry_id

    def take(self, redis, entry_id: str) -> bytes | None:
        """The encoded batch of ``entry_id``; ``None`` once it has been written and removed."""
        return redis.get(self._payload_key(entry_id))

    @property
    def written_seq_key(self) -> str:
        """The newest engine seq a committed batch covered (for the persistence lag)."""
        return f"{self.name}.written_seq"

    def done(self, redis, entry_id: str, covered_to: int | None = None) -> None:
        """The batch is committed to the database: drop it from the outbox, and record how far
        the batches written reach (``covered_to``: the last seq the batch covers)."""
        keys = (self.name, self._payload_key(entry_id), self.written_seq_key)
        redis.eval(DONE_SCRIPT, 3, *keys, entry_id, "" if covered_to is None else covered_to)

    def bury(self, redis, entry_id: str) -> None:
        """The batch cannot be written (it failed with an error that retrying does not cure):
        out of the outbox, onto ``<name>.dead`` for an operator, its payload kept."""
        name = self.name
        [(_id, fields)] = redis.xrange(name, entry_id, entry_id) or [(None, {})]
        with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(f"{name}.dead", {**fields, "id": entry_id})
            pipe.xdel(name, entry_id)
            pipe.rename(f"{name}:{entry_id}", f"{name}.dead:{entry_id}")
            pipe.execute()

    def dead_letters(self, redis) -> list[dict]:
        """The batches that could not be written: ``{"dead_id", "id" (the outbox entry it was),
        "replay_from", "bytes"}``, oldest first."""
        out = []
        for dead_id, fields in redis.xrange(self.name + ".dead"):
            fields = {_text(k): _text(v) for k, v in fields.items()}
            out.append(
                {
                    "dead_id": _text(dead_id),
                    "id": fields.get("id"),
                    "replay_from": fields.get("replay_from"),
                    "bytes": int(fields.get("n", 0)),
                }
            )
        return out

    def revive(self, redis, dead_id: str) -> str | None:
        """Put a dead letter back into the outbox (once whatever stopped it is mended); the new
        entry's id, for its task, or None if it is not there."""
        entry_id = redis.eval(REVIVE_SCRIPT, 2, self.name, self.name + ".dead", dead_id)
        return _text(entry_id) if entry_id else None

    def pending(self, redis, older_than_ms: int = 0) -> list[str]:
        """Ids of the batches still in the outbox (those older than ``older_than_ms``), oldest
        first."""
        upper = "+" if older_than_ms <= 0 else str(time.time_ns() // 1_000_000 - older_than_ms)
        ids: list[str] = []
        start = "-"
        while True:
            entries = redis.xrange(self.name, start, upper, count=1000)
            ids.extend(_text(entry_id) for entry_id, _ in entries)
            if len(entries) < 1000:
                return ids
            start = "(" + ids[-1]

    def floor(self, redis) -> str | None:
        """The oldest command-stream id from which a replay regenerates a batch not yet written
        (waiting in the outbox, or among its dead letters); None when there is none. The engine
        trims its command stream no further, so that the database, once it has those batches or
        has been rebuilt without them, can always be brought up to date from the log."""
        oldest: tuple[int, int] | None = None
        found = None
        for name in (self.name, self.name + ".dead"):
            start = "-"
            while True:
                entries = redis.xrange(name, start, "+", count=1000)
                for _entry_id, fields in entries:
                    value = fields.get(b"replay_from")
                    if value is None:
                        continue
                    key = stream_key(_text(value))
                    if oldest is None or key < oldest:
                        oldest, found = key, _text(value)
                if len(entries) < 1000:
                    break
                start = "(" + _text(entries[-1][0])
        return found
