"""A connection's bounded queue of outgoing text frames, written by its own task.

Why not send from the channel-layer handler directly: a client that reads slowly (or never)
makes each socket write wait for TCP; the handler would then stop taking messages off the
channel layer, which silently drops the oldest ones once the channel's buffer is full, leaving
the client connected with holes it may not notice. Queueing here keeps the channel layer
drained, bounds the memory a connection may hold, and lets the consumer drop a client that is
too far behind (it reconnects and resyncs from REST), while every other client and the engine
carry on: nothing here waits on anyone else's socket.

When the web server offers a synchronous writer (``exchange_site.ws_protocol.WRITE_TEXTS``),
frames go straight to the socket while it takes them and nothing is queued; the queue and its
task take over as soon as the socket backs up, and until they have caught up, so frames never
overtake each other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# A client still this many frames behind when the next batch comes is dropped.
MAX_PENDING_FRAMES = int(os.environ.get("STREAMS_MAX_PENDING_FRAMES", "5000"))
# A client whose socket has not accepted a single frame for this long is dropped.
MAX_SEND_STALL_S = float(os.environ.get("STREAMS_MAX_SEND_STALL_S", "10"))


class Outbox:
    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        write_now: Callable[[list[str]], bool] | None = None,
        max_pending: int = MAX_PENDING_FRAMES,
        max_stall_s: float = MAX_SEND_STALL_S,
    ):
        self._send = send
        self._write_now = write_now
        self.max_pending = max_pending
        self.max_stall_s = max_stall_s
        self._pending: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._sending_since: float | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._write_loop())

    def __len__(self) -> int:
        return len(self._pending)

    def overloaded(self) -> bool:
        """Behind by more than ``max_pending`` frames, or stuck on one write too long. Counted
        before a new batch is added: one engine loop can carry thousands of frames at once, and
        a client that takes them at network speed is not slow."""
        if len(self._pending) > self.max_pending:
            return True
        since = self._sending_since
        return since is not None and time.monotonic() - since > self.max_stall_s

    def put(self, texts: list[str]) -> None:
        if (
            self._write_now is not None
            and not self._pending
            and self._sending_since is None
            and self._task is not None
            and self._write_now(texts)
        ):
            return
        self._pending.extend(texts)
        self._wakeup.set()

    async def stop(self) -> None:
        """Stop writing, dropping whatever is queued (an in-flight write is cancelled)."""
        self._pending.clear()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def _write_loop(self) -> None:
        pending = self._pending
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while pending:
                    text = pending.popleft()
                    self._sending_since = time.monotonic()
                    await self._send(text)
                    self._sending_since = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket is gone; the consumer hears of it as a disconnect
            log.debug("stream writer stopped: %r", exc)
            pending.clear()
