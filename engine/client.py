"""Submitting commands to the engine: append to its Redis stream, wait for the reply.

One module-level client per process. ``submit`` is what the API, the admin and the
management commands call. A command is appended only while the engine is up and keeping up
(its heartbeat's ``engine.accepting`` key exists, checked in the same script as the append):
otherwise ``EngineMaintenance`` (HTTP 503 ``MAINTENANCE``) at once, and nothing is appended, so
an order is never executed later at another market price. ``EngineUnavailable`` (503) when
Redis cannot be reached, ``EngineTimeout`` (504, "status unknown") when no reply came in time:
what was appended is the truth and will be applied.
"""

from __future__ import annotations

import itertools
import os
import uuid

import redis
from django.conf import settings

from contract import jsonfast
from contract.names import ACCEPTING_KEY, APPENDED_KEY, COMMAND_STREAM, REPLY_TTL_S, STATUS_KEY
from engine.core.codec import command_to_dict
from engine.core.messages import Command
from exchange_site.api_errors import ApiError
from exchange_site.redis_client import get_async_redis, get_redis

REPLY_KEY_PREFIX = "engine.reply."


def _new_reply_keys() -> None:
    # Unique like a uuid4 per reply (a random prefix per process, forks included, then a
    # counter) without drawing random bytes for each: uuid4 was 2 % of order entry's CPU.
    global _reply_prefix, _reply_numbers
    _reply_prefix = f"{REPLY_KEY_PREFIX}{uuid.uuid4().hex}."
    _reply_numbers = itertools.count()


_new_reply_keys()
os.register_at_fork(after_in_child=_new_reply_keys)


def _reply_key() -> str:
    return f"{_reply_prefix}{next(_reply_numbers)}"


MAINTENANCE = "MAINTENANCE"

# KEYS: the stream, the count of appends (``contract.names.APPENDED_KEY``), to append only while
# the engine takes commands its permission (or none), then any rate-limit counters, then the key of
# the reply the caller waits for (or none). ARGV: the number of counters, their limits, their
# lifetimes in seconds, then the entry's field, value, ...
# Each counter is counted (INCR, EXPIRE) first; if one is above its limit nothing is appended
# (the request is refused: ``accounts.api.throttling.wait_after`` compares the same way). Returns
# {entry id, counts...}: the id is nil when a counter refused or when there is no log (NOMKSTREAM:
# only the engine creates it, ``engine.commandlog``). Counting and appending in one script is one
# round trip where a rate-limit pipeline and then the append were two.
# The caller's BLPOP for the reply follows this script in the same round trip, on the same
# connection: whenever nothing is appended, the script pushes an empty marker onto the reply key
# so that the BLPOP returns at once instead of waiting out its timeout.
APPEND_SCRIPT = """
local n = tonumber(ARGV[1])
local reply_key = KEYS[4 + n]
local function refused(reply)
  if reply_key then
    redis.call('RPUSH', reply_key, '')
    redis.call('EXPIRE', reply_key, REPLY_TTL_S)
  end
  return reply
end
local counts = {}
local over = false
for i = 1, n do
  local key = KEYS[3 + i]
  counts[i] = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1 + n + i])
  if counts[i] > tonumber(ARGV[1 + i]) then over = true end
end
if over then return refused({false, unpack(counts)}) end
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 0 then
  return refused(redis.error_reply('MAINTENANCE'))
end
local id = redis.pcall('XADD', KEYS[1], 'NOMKSTREAM', '*', unpack(ARGV, 2 + 2 * n))
if type(id) == 'table' and id.err then return refused(id) end
if not id then return refused({false, unpack(counts)}) end
redis.call('INCR', KEYS[2])
return {id, unpack(counts)}
""".replace("REPLY_TTL_S", str(REPLY_TTL_S))


class OverLimit(Exception):
    """A rate-limit counter given to ``submit_async`` was over its limit: nothing was appended."""

    def __init__(self, counts: list[int]):
        super().__init__("over a rate limit")
        self.counts = counts


class EngineUnavailable(ApiError):
    def __init__(self, detail: str = "the matching engine cannot be reached"):
        super().__init__("SERVER_ERROR", detail, http_status=503)


class EngineMaintenance(ApiError):
    def __init__(self):
        super().__init__(
            MAINTENANCE,
            "the matching engine is not accepting commands (down, starting, or catching up): nothing was"
            " submitted; try again shortly",
            http_status=503,
            headers={"Retry-After": "1"},
        )


class EngineTimeout(ApiError):
    def __init__(self):
        super().__init__(
            "SERVER_ERROR",
            "the engine did not answer in time: order status unknown (look it up by clientId)",
            http_status=504,
        )


def encode(command: Command, reply_to: str | None) -> dict:
    """The stream entry for a command. ``ts`` is not sent: the engine takes it from the entry id."""
    body = command_to_dict(command)
    body.pop("ts", None)
    fields = {"cmd": jsonfast.dumps(body)}
    if reply_to:
        fields["reply_to"] = reply_to
    return fields


def append(command: Command) -> str | None:
    """Append without waiting for a reply, whether the engine runs or not (reference data the
    engine applies when it comes up; it also adds any it lacks when it starts). None when there
    is no log yet: the engine's first start creates it and adds the reference data."""
    (appended,) = _round_trip(_commands(encode(command, None), (), None))
    if isinstance(appended, redis.ResponseError):
        raise EngineUnavailable(f"Redis refused the command: {appended}")
    return appended[0].decode() if appended[0] else None


def _commands(fields: dict, counters, reply_to: str | None, timeout: float = 0.0) -> list[tuple]:
    """The append script and, with ``reply_to``, the wait for the reply (``timeout`` seconds),
    sent together: one round trip. Only a command that waits for its reply is appended on the
    engine's permission (``ACCEPTING_KEY``) and counted by ``counters`` (``(key, limit, ttl)``)."""
    if reply_to is None:
        keys: tuple = (COMMAND_STREAM, APPENDED_KEY)
    else:
        keys = (COMMAND_STREAM, APPENDED_KEY, ACCEPTING_KEY, *(key for key, _, _ in counters), reply_to)
    commands = [("EVAL", APPEND_SCRIPT, len(keys), *keys, *_script_args(fields, counters))]
    if reply_to is not None:
        commands.append(("BLPOP", reply_to, max(timeout, 0.01)))
    return commands


def _script_args(fields: dict, counters) -> list:
    """ARGV of ``APPEND_SCRIPT``: ``counters`` are ``(key, limit, ttl)``."""
    return [
        len(counters),
        *(limit for _, limit, _ in counters),
        *(ttl for _, _, ttl in counters),
        *(x for kv in fields.items() for x in kv),
    ]


def _append_refused(exc: redis.RedisError) -> ApiError:
    if isinstance(exc, redis.ResponseError):
        if str(exc).startswith(MAINTENANCE):
            return EngineMaintenance()
        return EngineUnavailable(f"Redis refused the command: {exc}")
    return EngineUnavailable(f"Redis unreachable: {exc}")


# The append and the wait go over one connection taken from the pool, written at once and read
# back reply by reply, instead of through redis-py's command methods: those retry a command whose
# connection failed, and an append retried after Redis had taken it would be applied twice. Here
# nothing is ever sent twice: a failure before the write is ``EngineUnavailable`` (nothing was
# appended), one after it ``EngineTimeout`` (status unknown: it may have been appended).


def _round_trip(commands: list[tuple]) -> list:
    """The replies to ``commands`` (an error reply as its ``ResponseError``), on the process's
    client."""
    pool = get_redis().connection_pool
    try:
        conn = pool.get_connection()
    except redis.RedisError as exc:
        raise _append_refused(exc) from None
    sent = False
    try:
        conn.send_packed_command(conn.pack_commands(commands))
        sent = True
        return [_read(conn) for _ in commands]
    except BaseException as exc:
        conn.disconnect()  # replies may be left unread on it
        if isinstance(exc, redis.RedisError):
            raise (EngineTimeout() if sent else _append_refused(exc)) from None
        raise
    finally:
        pool.release(conn)


async def _round_trip_async(commands: list[tuple]) -> list:
    """``_round_trip`` on the process's asyncio client."""
    pool = get_async_redis().connection_pool
    try:
        conn = await pool.get_connection()
    except redis.RedisError as exc:
        raise _append_refused(exc) from None
    sent = False
    try:
        await conn.send_packed_command(conn.pack_commands(commands))
        sent = True
        return [await _read_async(conn) for _ in commands]
    except BaseException as exc:
        await conn.disconnect()
        if isinstance(exc, redis.RedisError):
            raise (EngineTimeout() if sent else _append_refused(exc)) from None
        raise
    finally:
        await pool.release(conn)


def _read(conn):
    try:
        return conn.read_response()
    except redis.ResponseError as exc:
        return exc


async def _read_async(conn):
    try:
        return await conn.read_response()
    except redis.ResponseError as exc:
        return exc


def _replied(appended, popped, counters) -> list[dict]:
    """The events of the reply, or the refusal the script answered with."""
    if isinstance(appended, redis.ResponseError):
        raise _append_refused(appended)
    counts = appended[1:]
    if any(number > limit for number, (_, limit, _) in zip(counts, counters, strict=True)):
        raise OverLimit(counts)
    if appended[0] is None:  # no log yet: the engine has never run
        raise EngineMaintenance()
    # Appended: from here on the command will be applied, whatever becomes of its reply.
    if popped is None:
        raise EngineTimeout()
    return jsonfast.loads(popped[1])["events"]


def submit(command: Command, timeout: float | None = None) -> list[dict]:
    """Append ``command`` and return the events it produced (``event_to_dict`` form)."""
    timeout = settings.ENGINE_REPLY_TIMEOUT_S if timeout is None else timeout
    reply_to = _reply_key()
    appended, popped = _round_trip(_commands(encode(command, reply_to), (), reply_to, timeout))
    return _replied(appended, popped, ())


async def submit_async(
    command: Command, timeout: float | None = None, counters: tuple | list = ()
) -> list[dict]:
    """``submit`` on the process's asyncio Redis client, for the order entry path that runs on
    the web server's event loop (``accounts.api.fast``): no thread waits for the reply.

    ``counters`` (``(key, limit, ttl)`` each) are rate-limit counters counted in the same script
    as the append; when one is over its limit nothing is appended and ``OverLimit`` carries the
    counts."""
    timeout = settings.ENGINE_REPLY_TIMEOUT_S if timeout is None else timeout
    reply_to = _reply_key()
    appended, popped = await _round_trip_async(
        _commands(encode(command, reply_to), counters, reply_to, timeout)
    )
    return _replied(appended, popped, counters)


def engine_status() -> tuple[bool, str | None]:
    """Whether the engine takes commands now (what ``submit`` checks before appending), and if
    not, why."""
    try:
        accepting, status = get_redis().pipeline().exists(ACCEPTING_KEY).get(STATUS_KEY).execute()
    except redis.RedisError as exc:
        return False, f"Redis unreachable: {exc}"
    if accepting:
        return True, None
    if status is None:
        return False, "the matching engine is down"
    lag_s = jsonfast.loads(status).get("lag_ms", 0) / 1000
    return False, f"the matching engine is catching up ({lag_s:.1f} s behind)"
