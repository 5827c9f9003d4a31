"""Public streams reach a web process once, then fan out in memory to its connections.

Channels' usual shape gives every connection its own channel in the group, so each engine
message is received once per connection through the channel layer's machinery (with
channels_redis, a lock dance and several futures per message per connection). Measured with
bench/ws_fanout.py, that alone caps one process at a few thousand deliveries a second: at 100
connections and 100 orders/s it already fell behind and dropped half the events. Here each
process joins a public stream's group with one channel of its own, receives each batched
message once, encodes each frame once, and hands the same text frames to every local
subscriber's outbox. The groups are still named after the streams and the engine still sends
one message per group per loop; only the membership is per process instead of per connection.
Private streams (one account, few messages) keep the per-connection channel.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from channels.layers import get_channel_layer

from contract.names import CHANNEL_MESSAGE_TYPE
from streams.protocol import data_frame

log = logging.getLogger(__name__)

GROUP_REFRESH_S = 3600.0  # re-join before channels_redis's group_expiry (a day) forgets us


class Subscriber(Protocol):
    def offer(self, texts: list[str]) -> None: ...


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.loop = asyncio.get_running_loop()
        self.members: dict[str, set[Subscriber]] = {}
        # Membership changes one at a time: a join and a leave of the same group must not
        # interleave in Redis, and the first joins must not create two channels.
        self._lock = asyncio.Lock()
        self.channel: str | None = None
        self._tasks: list[asyncio.Task] = []

    async def _start(self) -> None:
        if self.channel is None:
            self.channel = await self.layer.new_channel()
            self._tasks = [asyncio.ensure_future(self._receive()), asyncio.ensure_future(self._refresh())]

    async def join(self, stream: str, subscriber: Subscriber) -> None:
        members = self.members.get(stream)
        if members is not None:  # the common case: the process is in the group already
            members.add(subscriber)
            return
        async with self._lock:
            await self._start()
            members = self.members.get(stream)
            if members is None:
                await self.layer.group_add(stream, self.channel)
                members = self.members[stream] = set()
            members.add(subscriber)

    async def leave(self, stream: str, subscriber: Subscriber) -> None:
        async with self._lock:
            members = self.members.get(stream)
            if members is None or subscriber not in members:
                return
            members.discard(subscriber)
            if not members:
                del self.members[stream]
                await self.layer.group_discard(stream, self.channel)

    def dispatch(self, message: dict) -> None:
        """Hand one engine message's frames to every local subscriber of their stream."""
        if message.get("type") != CHANNEL_MESSAGE_TYPE:
            return
        texts: dict[str, list[str]] = {}
        for frame in message["frames"]:
            stream = frame["stream"]
            if stream in self.members:
                texts.setdefault(stream, []).append(data_frame(stream, frame["data"]))
        for stream, batch in texts.items():
            for subscriber in list(self.members.get(stream, ())):
                try:
                    subscriber.offer(batch)
                except Exception:  # one broken connection must not cost the others this batch
                    log.exception("stream hub: a subscriber of %s failed", stream)

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: keep trying, the groups are still ours
                log.exception("stream hub: channel layer receive failed")
                await asyncio.sleep(1.0)
                continue
            try:
                self.dispatch(message)
            except Exception:
                log.exception("stream hub: bad message %r", message)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_S)
            for stream in list(self.members):
                await self.layer.group_add(stream, self.channel)


_hub: Hub | None = None


def get_hub() -> Hub:
    """This process's hub (one per event loop: tests run each in a loop of its own)."""
    global _hub
    if _hub is None or _hub.loop is not asyncio.get_running_loop():
        _hub = Hub()
    return _hub
