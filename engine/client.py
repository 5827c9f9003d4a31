"""Submitting commands to the engine: append to its Redis stream, wait for the reply.

One module-level client per process. ``submit`` is what the API, the admin and the
management commands call; it raises ``EngineUnavailable`` (HTTP 503) when Redis cannot be
reached and ``EngineTimeout`` (HTTP 504, "status unknown") when no reply came in time.
"""

from __future__ import annotations

import uuid

import redis
from django.conf import settings

from engine import jsonfast
from engine.core.codec import command_to_dict
from engine.core.messages import Command
from exchange_site.api_errors import ApiError
from exchange_site.redis_client import get_redis

COMMAND_STREAM = "engine.commands"
REPLY_KEY_PREFIX = "engine.reply."
REPLY_TTL_S = 60


class EngineUnavailable(ApiError):
    def __init__(self, detail: str = "the matching engine cannot be reached"):
        super().__init__("SERVER_ERROR", detail, http_status=503)


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


def append(command: Command) -> str:
    """Append without waiting for a reply (operator commands queued before the engine runs)."""
    try:
        return get_redis().xadd(COMMAND_STREAM, encode(command, None)).decode()
    except redis.RedisError as exc:
        raise EngineUnavailable(f"Redis unreachable: {exc}") from None


def submit(command: Command, timeout: float | None = None) -> list[dict]:
    """Append ``command`` and return the events it produced (``event_to_dict`` form)."""
    timeout = settings.ENGINE_REPLY_TIMEOUT_S if timeout is None else timeout
    reply_to = REPLY_KEY_PREFIX + uuid.uuid4().hex
    client = get_redis()
    try:
        client.xadd(COMMAND_STREAM, encode(command, reply_to))
        popped = client.blpop([reply_to], timeout=max(timeout, 0.01))
    except redis.RedisError as exc:
        raise EngineUnavailable(f"Redis unreachable: {exc}") from None
    if popped is None:
        raise EngineTimeout()
    return jsonfast.loads(popped[1])["events"]
