"""The web server's websocket protocol: uvicorn's sans-I/O one, with write flow control and
keepalive pings.

Why not uvicorn's default (the ``websockets`` legacy protocol): fan-out is bound by the web
process's CPU per frame, and the sans-I/O protocol spends about half as much on each
(bench/ws_fanout.py). Why not plain ``--ws websockets-sansio``, in uvicorn 0.37:

- its ``send`` waits on a ``writable`` event that nothing ever clears, so it writes into the
  transport's buffer however far behind the client is. A client that stops reading would pile
  frames up in server memory, and ``streams.outbox`` could never see it fall behind and drop
  it. The transport already reports crossing its high- and low-water marks
  (``pause_writing``/``resume_writing``); wiring them to that event makes ``send`` wait for the
  socket, as the legacy protocol does;
- it ignores ``--ws-ping-interval``/``--ws-ping-timeout``: a peer that vanished without a FIN
  (a laptop lid closed, a NAT forgetting the flow) would hold its connection and subscriptions
  forever. Here the server pings every interval and closes (1011) a connection from which
  nothing at all, pong included, arrived within the timeout, as the legacy protocol does.

It also offers the application an ASGI extension, ``scope["extensions"][WRITE_TEXTS]``: a plain
function that writes text frames at once, in one socket write, when the socket is taking data.
Fan-out sends every frame of a public stream to every subscriber; through the ASGI ``send``
each frame costs a coroutine chain and a task switch in the connection's writer, a third of the
web process's CPU per frame (bench/ws_fanout.py). ``streams.outbox`` uses the extension when it
is there and falls back to ``send`` when it is not, or when the socket is backed up.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

KEEPALIVE_TIMEOUT_CODE = 1011  # what the legacy protocol sends on a missed pong
# A closing connection whose peer takes no more data is aborted after this long: asyncio only
# finishes a close once the write buffer has drained (the legacy protocol's close_timeout).
CLOSE_TIMEOUT_S = 10.0
WRITE_TEXTS = "exchange.websocket.write_texts"  # the scope extension: write_texts(list[str]) -> bool


class FlowControlledWebSocketProtocol(WebSocketsSansIOProtocol):
    _keepalive: asyncio.TimerHandle | None = None
    _abort: asyncio.TimerHandle | None = None
    _heard = False  # anything received since the last ping

    # --- write flow control ------------------------------------------------------------

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    async def send(self, message) -> None:
        if message["type"] == "websocket.close" and self.handshake_complete and not self.close_sent:
            if not self.writable.is_set():
                # The peer reads nothing: its close frame would wait behind a full buffer for
                # ever (``send`` waits for the socket). Drop the connection instead.
                code, reason = message.get("code", 1000), message.get("reason") or ""
                self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
                self.close_sent = True
                self.transport.abort()
                return
            await super().send(message)
            self._abort_if_stuck()
            return
        await super().send(message)

    def _abort_if_stuck(self) -> None:
        if self.transport.is_closing() and self._abort is None:
            self._abort = self.loop.call_later(CLOSE_TIMEOUT_S, self.transport.abort)

    # --- frames written without the ASGI send ------------------------------------------

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the upgrade was refused
        if scope is not None:
            scope["extensions"][WRITE_TEXTS] = self.write_texts

    def write_texts(self, texts: list[str]) -> bool:
        """Write these text frames now, in one socket write. False, having written nothing, when
        the socket is not taking more data (the caller queues them and waits in ``send``) or the
        connection is not open."""
        if not (self.writable.is_set() and self._open()):
            return False
        conn = self.conn
        try:
            for text in texts:
                conn.send_text(text.encode())
            self.transport.write(b"".join(conn.data_to_send()))
        except InvalidState:  # closing: ``send`` will say so
            return False
        except Exception:  # whatever it is, the caller's ``send`` meets it and ends the writer
            self.logger.debug("direct websocket write failed", exc_info=True)
            return False
        return True

    # --- keepalive -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._schedule(self.config.ws_ping_interval, self._ping)

    def data_received(self, data: bytes) -> None:
        self._heard = True
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._keepalive, self._abort):
            if timer is not None:
                timer.cancel()
        # A send waiting for the socket to drain must not wait forever for a closed one: it
        # goes on and finds the connection closed.
        self.writable.set()
        super().connection_lost(exc)

    def _schedule(self, delay: float | None, callback) -> None:
        self._keepalive = self.loop.call_later(delay, callback) if delay else None

    def _open(self) -> bool:
        return self.handshake_complete and not self.close_sent and not self.transport.is_closing()

    def _ping(self) -> None:
        if not self._open():
            if not self.handshake_complete:  # still upgrading: look again later
                self._schedule(self.config.ws_ping_interval, self._ping)
            return
        self._heard = False
        self.conn.send_ping(b"")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self._schedule(self.config.ws_ping_timeout or self.config.ws_ping_interval, self._check_pong)

    def _check_pong(self) -> None:
        if not self._open():
            return
        if self._heard:
            self._schedule(self.config.ws_ping_interval, self._ping)
            return
        self.logger.info("%s - websocket closed: no pong within the keepalive timeout", self.client)
        self.queue.put_nowait({"type": "websocket.disconnect", "code": KEEPALIVE_TIMEOUT_CODE})
        self.conn.send_close(KEEPALIVE_TIMEOUT_CODE, "keepalive ping timeout")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.transport.close()
        self._abort_if_stuck()
