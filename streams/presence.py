"""Which accounts have a private subscriber: the engine renders private frames only for them.

The engine reads the hash ``PRIVATE_SUBSCRIBERS_KEY`` (account id -> number of connections
subscribed to that account's private streams) when ``PRIVATE_SUBSCRIBERS_VERSION_KEY`` changed
(and once a second): every change that adds or removes an account sets a new version in the
same script. Each connection adds one when it first takes an account's private streams and
takes it back when it lets them go or closes. A web process that dies leaves its counts
behind, which costs the engine some rendering and loses nothing; the opposite error (a count
too low) would lose frames, so a count is deleted only when it reaches zero.
"""

from __future__ import annotations

import uuid

from contract.names import PRIVATE_SUBSCRIBERS_KEY, PRIVATE_SUBSCRIBERS_VERSION_KEY
from exchange_site.redis_client import get_async_redis

# KEYS: the hash and its version; ARGV: the account, a new version. The version changes only
# when the account joins or leaves the hash: the engine then reads the hash again.
_ACQUIRE = """
local count = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if count == 1 then redis.call('SET', KEYS[2], ARGV[2]) end
return count
"""
_RELEASE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], ARGV[2])
end
return left
"""


async def acquire(account: int) -> None:
    await _change(_ACQUIRE, account)


async def release(account: int) -> None:
    await _change(_RELEASE, account)


async def _change(script: str, account: int) -> None:
    await get_async_redis().eval(
        script, 2, PRIVATE_SUBSCRIBERS_KEY, PRIVATE_SUBSCRIBERS_VERSION_KEY, str(account), uuid.uuid4().hex
    )
