"""The channel layer's frames inside the engine's flush, when the layer lives on the engine's Redis.

channels_redis's ``RedisPubSubChannelLayer`` (the settings' layer) delivers ``group_send(group,
message)`` as one PUBLISH of ``layer.serialize(message)`` on the group's own pub/sub channel, on
the Redis server that owns that name; the group's members are subscribed there. ``group_send``
holds a lock per server and waits for each PUBLISH in turn: three to five round trips after the
flush's MULTI, on the engine's critical path whenever it is caught up (it waits for a flush to
land before it reads again). When the layer has one server and it is the engine's own, the
engine puts the same PUBLISHes into the flush's MULTI instead: no round trip of their own, and
the websocket frames leave atomically with the cache writes they describe. Any other layer (more
than one server, another server, another backend) gets ``group_send`` as before.

The channel name comes from the layer itself (``_get_group_channel_name``, not part of
channels_redis's documented API; the version is pinned in requirements.txt):
``tests/engine_process/test_layer_frames.py`` has a real member of a real layer receive a frame
published this way, so an upgrade that renames the channels fails there.
"""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import create_pool


def _server(pool: redis.ConnectionPool | redis.asyncio.ConnectionPool) -> tuple | None:
    """Which Redis server, as which user, a connection pool talks to; None when it cannot tell
    (sentinel). Not the db number: pub/sub channels are server-wide whatever the db. The user,
    because another user may not be allowed to publish on the layer's channels, and a failing
    PUBLISH would fail the whole flush where a failing ``group_send`` costs only its frames."""
    kwargs = pool.connection_kwargs
    user = kwargs.get("username")
    if "path" in kwargs:
        return ("unix", kwargs["path"], user)
    if "host" not in kwargs:
        return None
    return (kwargs["host"], int(kwargs.get("port", 6379)), user)


def group_channel_namer(layer: object, redis: redis.asyncio.Redis) -> Callable[[str], str] | None:
    """``group -> pub/sub channel`` when ``layer`` keeps every group on the server ``redis`` talks
    to (an asyncio client); None when frames must go through ``layer.group_send``. Call it in the
    event loop the engine runs in: the layer keeps its state per loop."""
    if type(layer) is not RedisPubSubChannelLayer:
        return None
    loop_layer = layer._get_layer()
    shards = loop_layer._shards
    if len(shards) != 1:
        return None
    engine_server = _server(redis.connection_pool)
    if engine_server is None or _server(create_pool(shards[0].host)) != engine_server:
        return None
    return loop_layer._get_group_channel_name
