"""The engine's Redis round trips, written and read without redis-py's pipeline, and the one
script every write of the engine goes through.

Each loop iteration makes one or two round trips (a flush, a read); at 5,000 commands/s that is
~200 iterations a second with ~23 writes each, so what a round trip costs by itself counts more
than what its commands cost. redis-py's asyncio pipeline takes a pool lock, checks the
connection, wraps the call for retries and parses every reply through its callbacks: a flush and
a read cost the engine 700-750 us of CPU per iteration that way at the VM's half speed, and 300
us as one write packed by hiredis on a connection of its own, each reply read raw.

A flush is one ``EVAL`` of ``FLUSH_SCRIPT``: it checks that the engine still holds its lease
(``engine.lease``) and renews it, then runs the flush's writes, all in one round trip and
atomically. An engine that lost the lease (paused past it while another took over, or a Redis
that lost its data) writes nothing: the script refuses with ``FENCED``. The writes are queued in
a ``CommandBatch`` as small operations the script interprets (a command, an LPUSH or hash update
of any size, the replies, the PUBLISHes, a persistence batch into the outbox), since a script
cannot call another.

A ``Link`` holds one connection of the engine's pool; it has at most one exchange in flight (the
loop's order of flushes and reads guarantees it). There is no retry here: an exchange that fails
raises, and the engine decides (``engine.process``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import hiredis
import redis.asyncio
from redis.exceptions import ResponseError

from engine.lease import FENCE_LUA, Lease, LeaseLost

Arg = str | bytes | int | float | memoryview  # what hiredis packs
Command = tuple[Arg, ...]  # ("SET", key, value): a command name and its arguments

# After the fence (KEYS: lease, epoch; ARGV[1..3]: token, epoch, ttl), ARGV holds operations,
# each ``name, argument count, arguments...``:
#   C  one Redis command, as is
#   L  key, values...: LPUSH in chunks (``unpack`` takes a few thousand values at most)
#   H  key, #sets, #deletes, field, value, ..., field, ...: HSET and HDEL in chunks
#   R  ttl, key, payload, ...: the replies, LPUSH + EXPIRE each; a key that cannot take a list
#      (a requester that named a key of another type) loses its own reply, not the flush
#   P  channel, message, ...: PUBLISH each
#   Z  key, kept, ttl, score, member, ...: ZADD in chunks, then keep the ``kept`` highest
#      scores and let the key expire ``ttl`` seconds after its last write
#   O  stream, payload, field, value, ...: a persistence batch into the outbox
#      (``contract.persist_outbox``): XADD of the fields, the payload under ``stream:id``
#   T  stream, log hash, id: trim the command stream to ``id`` (MINID) and record it as the
#      log's ``trimmed_to`` (``engine.commandlog``), unless it was trimmed that far already
# Returns {replies that failed, outbox entry ids...}.
FLUSH_SCRIPT = (
    FENCE_LUA
    + """
local function id_key(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local out = {0}
local a, count = 4, #ARGV
while a <= count do
  local op, first, last = ARGV[a], a + 2, a + 1 + tonumber(ARGV[a + 1])
  if op == 'C' then
    redis.call(unpack(ARGV, first, last))
  elseif op == 'L' then
    for from = first + 1, last, 1000 do
      redis.call('LPUSH', ARGV[first], unpack(ARGV, from, math.min(from + 999, last)))
    end
  elseif op == 'H' then
    local key, s = ARGV[first], first + 3
    local d = s + 2 * tonumber(ARGV[first + 1])
    for from = s, d - 1, 2000 do
      redis.call('HSET', key, unpack(ARGV, from, math.min(from + 1999, d - 1)))
    end
    for from = d, last, 1000 do
      redis.call('HDEL', key, unpack(ARGV, from, math.min(from + 999, last)))
    end
  elseif op == 'R' then
    for i = first + 1, last, 2 do
      local pushed = redis.pcall('LPUSH', ARGV[i], ARGV[i + 1])
      if type(pushed) == 'table' and pushed.err then
        out[1] = out[1] + 1
      else
        redis.call('EXPIRE', ARGV[i], ARGV[first])
      end
    end
  elseif op == 'P' then
    for i = first, last, 2 do
      redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
    end
  elseif op == 'Z' then
    local key = ARGV[first]
    for from = first + 3, last, 2000 do
      redis.call('ZADD', key, unpack(ARGV, from, math.min(from + 1999, last)))
    end
    redis.call('ZREMRANGEBYRANK', key, 0, -1 - tonumber(ARGV[first + 1]))
    redis.call('EXPIRE', key, ARGV[first + 2])
  elseif op == 'O' then
    local id = redis.call('XADD', ARGV[first], '*', unpack(ARGV, first + 2, last))
    redis.call('SET', ARGV[first] .. ':' .. id, ARGV[first + 1])
    out[#out + 1] = id
  elseif op == 'T' then
    local ms, seq = id_key(ARGV[first + 2])
    local done_ms, done_seq = id_key(redis.call('HGET', ARGV[first + 1], 'trimmed_to') or '0-0')
    if ms > done_ms or (ms == done_ms and seq > done_seq) then
      redis.call('XTRIM', ARGV[first], 'MINID', ARGV[first + 2])
      redis.call('HSET', ARGV[first + 1], 'trimmed_to', ARGV[first + 2])
    end
  else
    return redis.error_reply('unknown flush operation ' .. tostring(op))
  end
  a = last + 1
end
return out
"""
)


class CommandBatch:
    """The writes of one flush, queued as ``FLUSH_SCRIPT``'s operations. It has the few command
    methods of a redis-py pipeline that the market-data cache writers (``contract.md_cache``) call,
    with the same signatures."""

    __slots__ = ("args", "outbox_entries")

    def __init__(self) -> None:
        self.args: list[Arg] = []
        self.outbox_entries = 0

    def __bool__(self) -> bool:
        return bool(self.args)

    def _op(self, name: str, args: Sequence[Arg]) -> None:
        self.args.append(name)
        self.args.append(len(args))
        self.args.extend(args)

    def call(self, *command: Arg) -> None:
        self._op("C", command)

    def set(self, name: Arg, value: Arg) -> None:
        self._op("C", ("SET", name, value))

    def ltrim(self, name: Arg, start: int, end: int) -> None:
        self._op("C", ("LTRIM", name, start, end))

    def lpush(self, name: Arg, *values: Arg) -> None:
        if values:
            self._op("L", (name, *values))

    def hash_changes(self, key: Arg, sets: Mapping[str, Arg], deletes: Sequence[str]) -> None:
        """Set ``sets``' fields and delete ``deletes`` of the hash ``key``."""
        if not sets and not deletes:
            return
        args: list[Arg] = [key, len(sets), len(deletes)]
        for field, value in sets.items():
            args.append(field)
            args.append(value)
        args.extend(deletes)
        self._op("H", args)

    def scored(self, key: Arg, members: Sequence[tuple[int, Arg]], kept: int, ttl_s: int) -> None:
        """Add ``members`` (score, member) to the sorted set ``key``; it keeps the ``kept``
        highest scores and expires ``ttl_s`` after this write."""
        if not members:
            return
        args: list[Arg] = [key, kept, ttl_s]
        for score, member in members:
            args.append(score)
            args.append(member)
        self._op("Z", args)

    def replies(self, replies: Iterable[tuple[Arg, Arg]], ttl_s: int) -> None:
        args: list[Arg] = [ttl_s]
        for key, payload in replies:
            args.append(key)
            args.append(payload)
        if len(args) > 1:
            self._op("R", args)

    def publish(self, messages: Sequence[Arg]) -> None:
        """``messages``: channel, message, channel, message, ..."""
        if messages:
            self._op("P", messages)

    def outbox(self, stream: str, payload: bytes, fields: Mapping[str, Arg]) -> None:
        args: list[Arg] = [stream, payload]
        for name, value in fields.items():
            args.append(name)
            args.append(value)
        self._op("O", args)
        self.outbox_entries += 1

    def trim(self, stream: str, log_key: str, min_id: str) -> None:
        self._op("T", (stream, log_key, min_id))

    def fenced(self, lease: Lease) -> Command:
        """The whole batch as one command: ``FLUSH_SCRIPT`` under ``lease``."""
        return ("EVAL", FLUSH_SCRIPT, *lease.script_args(args=tuple(self.args)))


class FlushFailed(Exception):
    """Redis refused a flush (its error is the cause). Not a ``ResponseError``: the loop must
    not take it for a failure of its own read."""


def flush_result(reply) -> tuple[int, list[str]]:
    """``(replies that failed, outbox entry ids)`` of a fenced flush's reply; raises
    ``LeaseLost`` when the engine no longer holds its lease, ``FlushFailed`` on any other
    error."""
    if isinstance(reply, ResponseError):
        if str(reply).startswith("FENCED"):
            raise LeaseLost(str(reply).removeprefix("FENCED ")) from None
        raise FlushFailed(str(reply)) from reply
    failed, *ids = reply
    return failed, [i.decode() if isinstance(i, bytes) else i for i in ids]


class Link:
    """One connection of ``client``'s pool that sends a list of commands in one write and returns
    one reply per command, Redis's errors as ``ResponseError`` values for the caller to judge."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self._connection = None

    async def exchange(self, commands: Sequence[Command]) -> list:
        connection = self._connection
        if connection is None:
            connection = self._connection = await self.client.connection_pool.get_connection()
        try:
            packed = b"".join(map(hiredis.pack_command, commands))
            await connection.send_packed_command(packed, check_health=False)
            replies = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as exc:  # read in full: the next reply follows
                    replies.append(exc)
        except BaseException:
            # Cut off (cancelled, timed out, lost): replies may be left unread on the connection
            # (redis-py drops it on most of these itself). It goes back to the pool closed, and a
            # next exchange, if the caller makes one, takes a fresh one.
            self._connection = None
            await connection.disconnect()
            await self.client.connection_pool.release(connection)
            raise
        return replies
