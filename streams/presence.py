"""Which accounts have a private subscriber: the engine renders private frames only for them.

``engine.publisher`` reads the hash ``PRIVATE_SUBSCRIBERS_KEY`` (account id -> number of
connections subscribed to that account's private streams); each connection adds one when it
first takes an account's private streams and takes it back when it lets them go or closes. A
web process that dies leaves its counts behind, which costs the engine some rendering and
loses nothing; the opposite error (a count too low) would lose frames, so a count is deleted
only when it reaches zero.
"""

from __future__ import annotations

from engine.publisher import PRIVATE_SUBSCRIBERS_KEY
from exchange_site.redis_client import get_async_redis

_RELEASE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
"""


async def acquire(account: int) -> None:
    await get_async_redis().hincrby(PRIVATE_SUBSCRIBERS_KEY, str(account), 1)


async def release(account: int) -> None:
    await get_async_redis().eval(_RELEASE, 1, PRIVATE_SUBSCRIBERS_KEY, str(account))
