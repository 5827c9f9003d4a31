"""One engine at a time: the lease in Redis that an engine takes before it reads a command.

The lease is the key ``engine.lease`` holding the holder's token, with an expiry. Taking it
increments ``engine.lease.epoch``, a counter that never expires: the token starts with the epoch
it was taken at, so every acquisition has a token of its own. Every write the engine makes
(``engine.redis_batch``: replies, cache, events, persistence hand-off, the trim, the heartbeat)
runs inside one script that first checks the lease and renews it, in the same round trip: an
engine that lost the lease writes nothing and stops.

The lease is the engine's as long as the key holds its token, or, once the key has expired, as
long as nobody has taken it since (the epoch is still the engine's): an engine paused past its
expiry may carry on if no other engine started meanwhile, and is fenced out if one did. A Redis
that lost its data (FLUSHALL, a new server) has no epoch: every engine is fenced out of it.

A second engine finds the key held. If the holder renews it (every flush does, and an idle
engine flushes its heartbeat every fifth of the lease), the holder is alive and the newcomer
exits within a heartbeat, naming it; if not (it crashed, or is paused), the newcomer waits for
the key to expire, at most the lease's time to live, and takes over.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass

from contract.names import STATUS_KEY

LEASE_KEY = "engine.lease"
EPOCH_KEY = "engine.lease.epoch"

# KEYS: lease, epoch. ARGV: holder description, ttl ms. {1, token} when taken, else
# {0, holder's token, ms left}.
ACQUIRE_SCRIPT = """
local held = redis.call('GET', KEYS[1])
if held then return {0, held, redis.call('PTTL', KEYS[1])} end
local epoch = redis.call('INCR', KEYS[2])
local token = epoch .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return {1, token}
"""

# The check every fenced script starts with (``engine.redis_batch.FLUSH_SCRIPT``). KEYS[1] the
# lease, KEYS[2] the epoch; ARGV[1] the token, ARGV[2] its epoch, ARGV[3] the ttl in ms.
FENCE_LUA = """
local held = redis.call('GET', KEYS[1])
if held ~= ARGV[1] and (held or redis.call('GET', KEYS[2]) ~= ARGV[2]) then
  return redis.error_reply('FENCED the engine lease is held by ' .. (held or
    'nobody, and was taken since (epoch ' .. tostring(redis.call('GET', KEYS[2])) .. ')'))
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
"""

RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseHeld(Exception):
    """Another engine holds the lease and is alive."""


class LeaseLost(Exception):
    """A fenced write was refused: another engine took the lease, or Redis lost it."""


def describe_holder() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


@dataclass(frozen=True)
class Lease:
    token: str
    ttl_ms: int

    @property
    def epoch(self) -> str:
        return self.token.split(" ", 1)[0]

    def script_args(self, keys: tuple = (), args: tuple = ()) -> tuple:
        """What an EVAL of a script starting with ``FENCE_LUA`` takes after the script: the
        number of keys, the lease's two keys then ``keys``, the fence's three arguments then
        ``args`` (from ``ARGV[4]``)."""
        return (2 + len(keys), LEASE_KEY, EPOCH_KEY, *keys, self.token, self.epoch, self.ttl_ms, *args)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _status(client) -> dict | None:
    raw = client.get(STATUS_KEY)
    return json.loads(raw) if raw else None


def acquire(client, ttl_s: float, log=None, holder: str | None = None) -> Lease:
    """Take the lease (``client``: a synchronous redis-py client). Raises ``LeaseHeld`` when a
    live engine holds it (one that renews it within two heartbeats); waits out the lease of one
    that does not renew it any more."""
    ttl_ms = max(int(ttl_s * 1000), 100)
    holder = holder or describe_holder()
    stale: str | None = None  # a holder seen not renewing its lease
    while True:
        taken, *rest = client.eval(ACQUIRE_SCRIPT, 2, LEASE_KEY, EPOCH_KEY, holder, ttl_ms)
        if taken == 1:
            return Lease(_text(rest[0]), ttl_ms)
        held, left_ms = _text(rest[0]), int(rest[1])
        if held != stale:
            renewed = _renewed(client, held, left_ms, watch_ms=2 * ttl_ms // 5)
            if renewed is None:
                continue  # it changed hands or expired meanwhile: try again
            if renewed:
                status = _status(client) or {}
                beat = (
                    f" (heartbeat at stream id {status['stream_id']})" if status.get("token") == held else ""
                )
                raise LeaseHeld(
                    f"another engine holds the lease ({LEASE_KEY}: {held!r}) and is running{beat}"
                )
            stale = held
            if log is not None:
                log.warning(
                    "the engine lease is held by %r, which does not renew it: waiting up to %.1f s for it"
                    " to expire",
                    held,
                    ttl_ms / 1000,
                )
        time.sleep(0.05)


def _renewed(client, token: str, left_ms: int, watch_ms: int) -> bool | None:
    """Whether the holder of ``token`` renews its lease within ``watch_ms`` (its time to live goes
    up: a renewal sets it whole again); None if the lease changed hands or expired meanwhile."""
    deadline = time.monotonic() + watch_ms / 1000
    while time.monotonic() < deadline:
        time.sleep(0.05)
        held, now_left = client.pipeline().get(LEASE_KEY).pttl(LEASE_KEY).execute()
        if held is None or _text(held) != token:
            return None
        if now_left > left_ms:
            return True
        left_ms = now_left
    return False


def release(client, lease: Lease) -> None:
    """Give the lease up (a clean stop), so that a successor need not wait for it to expire."""
    client.eval(RELEASE_SCRIPT, 1, LEASE_KEY, lease.token)


def holder(client) -> str | None:
    raw = client.get(LEASE_KEY)
    return _text(raw) if raw else None
