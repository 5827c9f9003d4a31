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

import functools
import uuid

import redis
from django.conf import settings

from engine import jsonfast
from engine.commandlog import COMMAND_STREAM
from engine.core.codec import command_to_dict
from engine.core.messages import Command
from engine.lease import ACCEPTING_KEY, STATUS_KEY
from engine.metrics import APPENDED_KEY
from exchange_site.api_errors import ApiError
from exchange_site.redis_client import get_redis

REPLY_KEY_PREFIX = "engine.reply."
REPLY_TTL_S = 60
MAINTENANCE = "MAINTENANCE"

# KEYS: the stream, the count of appends (``engine.metrics.APPENDED_KEY``) and, to append only
# while the engine takes commands, its permission. ARGV: field, value, ... The new entry's id;
# nil when there is no log (NOMKSTREAM: only the engine creates it, ``engine.commandlog``).
APPEND_SCRIPT = """
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('MAINTENANCE')
end
local id = redis.call('XADD', KEYS[1], 'NOMKSTREAM', '*', unpack(ARGV))
if id then redis.call('INCR', KEYS[2]) end
return id
"""


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
    client = get_redis()
    fields = encode(command, None)
    try:
        entry_id = _append_script(client)(keys=(COMMAND_STREAM, APPENDED_KEY), args=_flat(fields))
    except redis.RedisError as exc:
        raise EngineUnavailable(f"Redis unreachable: {exc}") from None
    return entry_id.decode() if entry_id else None


def _flat(fields: dict) -> list:
    return [x for kv in fields.items() for x in kv]


def submit(command: Command, timeout: float | None = None) -> list[dict]:
    """Append ``command`` and return the events it produced (``event_to_dict`` form)."""
    timeout = settings.ENGINE_REPLY_TIMEOUT_S if timeout is None else timeout
    reply_to = REPLY_KEY_PREFIX + uuid.uuid4().hex
    client = get_redis()
    fields = encode(command, reply_to)
    try:
        appended = _append_script(client)(
            keys=(COMMAND_STREAM, APPENDED_KEY, ACCEPTING_KEY), args=_flat(fields)
        )
    except redis.ResponseError as exc:
        if str(exc).startswith(MAINTENANCE):
            raise EngineMaintenance() from None
        raise EngineUnavailable(f"Redis refused the command: {exc}") from None
    except redis.RedisError as exc:
        raise EngineUnavailable(f"Redis unreachable: {exc}") from None
    if appended is None:  # no log yet: the engine has never run
        raise EngineMaintenance()
    # Appended: from here on the command will be applied, whatever becomes of its reply.
    try:
        popped = client.blpop([reply_to], timeout=max(timeout, 0.01))
    except redis.RedisError:
        raise EngineTimeout() from None
    if popped is None:
        raise EngineTimeout()
    return jsonfast.loads(popped[1])["events"]


@functools.cache
def _append_script(client: redis.Redis):
    return client.register_script(APPEND_SCRIPT)  # EVALSHA, loaded again after a Redis restart


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
