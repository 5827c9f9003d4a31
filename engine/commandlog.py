"""The command log: the Redis stream the engine applies, and what makes it trustworthy.

The stream ``engine.commands`` is the engine's input and the only record of acknowledged
commands that the database does not hold yet. Beside it, the hash ``engine.log`` names the log
(``id``, random, written when the engine creates the log) and records how far the engine has
trimmed it (``trimmed_to``: every entry before it is gone, every entry from it on is kept).
Snapshots carry the id of the log they were taken from.

So the engine can tell, before it serves anything, whether the log still holds every command
after its snapshot: the log is the snapshot's (same id), and it was not trimmed past the
snapshot. A Redis that lost its data has no ``engine.log``; a log started anew has another id.
When the engine cannot be sure, it refuses to start (``LogProblem``, one line saying what is
missing and which command recovers it): it never serves a state rebuilt from part of the log.

Only the engine creates the stream and the hash (``genesis``) and trims the stream
(``engine.redis_batch``'s ``T`` operation, under its lease); the web appends with NOMKSTREAM, so
it can never create a new, empty log by appending to a Redis that lost the old one.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from contract.names import COMMAND_STREAM, stream_key
from engine.lease import FENCE_LUA, Lease

LOG_KEY = "engine.log"
START = "0-0"  # before the first entry

# Under the lease (KEYS 1-2, ARGV 1-3): create the log, KEYS[3] the hash, KEYS[4] the stream,
# ARGV[4] its id, ARGV[5] trimmed_to, ARGV[6] the creation time, ARGV[7] the id to number after
# ("0-0": from the clock). An existing stream is kept (a log written before the hash existed).
GENESIS_SCRIPT = (
    FENCE_LUA
    + """
if redis.call('EXISTS', KEYS[3]) == 1 then
  return redis.error_reply('EXISTS the command log already exists')
end
if redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[4], 'genesis', '$', 'MKSTREAM')
  redis.call('XGROUP', 'DESTROY', KEYS[4], 'genesis')
  if ARGV[7] ~= '0-0' then redis.call('XSETID', KEYS[4], ARGV[7]) end
end
redis.call('HSET', KEYS[3], 'id', ARGV[4], 'trimmed_to', ARGV[5], 'created', ARGV[6])
return ARGV[4]
"""
)


class LogProblem(Exception):
    """The log cannot bring the engine's state up to date; the message says why and what to do."""


@dataclass(frozen=True)
class LogInfo:
    id: str
    trimmed_to: str


def stream_ts(entry_id: bytes | str) -> int:
    """A command's time: the milliseconds part of its stream entry id."""
    return int(entry_id[: entry_id.index(b"-" if isinstance(entry_id, bytes) else "-")])


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read(client) -> LogInfo | None:
    """The log's identity and trim point (``client``: a synchronous redis-py client)."""
    raw = client.hgetall(LOG_KEY)
    if not raw:
        return None
    fields = {_text(k): _text(v) for k, v in raw.items()}
    return LogInfo(id=fields["id"], trimmed_to=fields.get("trimmed_to", START))


def genesis(client, lease: Lease, trimmed_to: str = START) -> LogInfo:
    """Create the log under ``lease``: the hash, and an empty stream numbering its entries after
    ``trimmed_to`` if there is no stream (one that exists is a log written before the hash
    existed, and is kept)."""
    log_id = uuid.uuid4().hex
    created = int(time.time() * 1000)
    client.eval(
        GENESIS_SCRIPT,
        *lease.script_args((LOG_KEY, COMMAND_STREAM), (log_id, trimmed_to, created, trimmed_to)),
    )
    return LogInfo(id=log_id, trimmed_to=trimmed_to)


RECOVER_FROM_DATABASE = "python manage.py rebuild_engine_state"


def check(
    client,
    lease: Lease,
    snapshot_stream_id: str | None,
    snapshot_log_id: str | None,
    database_history: str | None,
) -> LogInfo:
    """The log to replay after the snapshot (``snapshot_stream_id``; None: there is none, the
    log is replayed from its start), created if the exchange is new; raises ``LogProblem`` when
    it cannot hold every command the state needs. ``database_history``: what the database holds
    (e.g. "history up to seq 1234"), None when it holds nothing yet."""
    info = read(client)
    has_stream = bool(client.exists(COMMAND_STREAM))
    if snapshot_stream_id is not None:
        if info is None:
            if has_stream and snapshot_log_id is None:
                # A log and a snapshot of a release that did not name logs: the engine trimmed
                # such a log only up to its newest snapshot, so it holds what follows this one.
                return genesis(client, lease, trimmed_to=snapshot_stream_id)
            raise LogProblem(
                f"the command log is gone from Redis ({LOG_KEY} and {COMMAND_STREAM} are missing: Redis"
                f" lost its data, or REDIS_URL names another server); the newest snapshot covers stream id"
                f" {snapshot_stream_id} and whatever was appended after it cannot be replayed: restore"
                f" Redis's append-only file and start again, or start a new log from the database's"
                f" state with `{RECOVER_FROM_DATABASE} --new-log`"
            )
        if snapshot_log_id is not None and snapshot_log_id != info.id:
            raise LogProblem(
                f"the newest snapshot was taken from command log {snapshot_log_id}, but Redis holds log"
                f" {info.id} (ENGINE_SNAPSHOT_DIR or REDIS_URL of another deployment?); rebuild the state"
                f" for this log from the database with `{RECOVER_FROM_DATABASE}`"
            )
        if stream_key(info.trimmed_to) > stream_key(snapshot_stream_id):
            raise LogProblem(
                f"the command log was trimmed up to {info.trimmed_to}, past the newest snapshot that"
                f" verifies ({snapshot_stream_id}): the commands between are gone; rebuild the state"
                f" from the database with `{RECOVER_FROM_DATABASE}`"
            )
        if not has_stream:
            raise LogProblem(f"{LOG_KEY} exists but the stream {COMMAND_STREAM} is missing: {_lost()}")
        return info
    if info is not None:
        if info.trimmed_to != START:
            raise LogProblem(
                f"no snapshot verifies and the command log was trimmed up to {info.trimmed_to}: its start"
                f" is gone; rebuild the state from the database with `{RECOVER_FROM_DATABASE}`"
            )
        if not has_stream:
            raise LogProblem(f"{LOG_KEY} exists but the stream {COMMAND_STREAM} is missing: {_lost()}")
        return info
    if database_history is not None:
        raise LogProblem(
            f"no snapshot verifies and Redis holds no command log named by this exchange, but the database"
            f" holds {database_history}: start a new log from the database's state with"
            f" `{RECOVER_FROM_DATABASE} --new-log`"
        )
    # A new exchange (or a log that predates the hash, never trimmed without a snapshot).
    return genesis(client, lease)


def _lost() -> str:
    return (
        f"the log is lost; start a new one from the database's state with `{RECOVER_FROM_DATABASE} --new-log`"
    )
