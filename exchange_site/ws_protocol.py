"""The web server's websocket protocol: uvicorn's sans-I/O one, with a synchronous writer for
fan-out and closes that cannot hang on a client that reads nothing.

Why the sans-I/O protocol (uvicorn's ``--ws auto`` with websockets installed): fan-out is bound
by the web process's CPU per frame, and it spends about half as much on each as the legacy
``websockets`` protocol (bench/ws_fanout.py). It waits for the socket to drain before each
``send`` (write flow control) and pings, closing with 1011 a peer that misses a pong
(``--ws-ping-interval``/``--ws-ping-timeout``). What it lacks, added here:

- an ASGI extension, ``scope["extensions"][WRITE_TEXTS]``: a plain function that writes text
  frames at once, in one socket write, when the socket is taking data. Fan-out sends every
  frame of a public stream to every subscriber; through the ASGI ``send`` each frame costs a
  coroutine chain and a task switch in the connection's writer, a third of the web process's
  CPU per frame (bench/ws_fanout.py). ``streams.outbox`` uses the extension when it is there
  and falls back to ``send`` when it is not, or when the socket is backed up;
- closes that cannot hang on a client that reads nothing. Its ``send`` waits for the socket
  before anything, so closing a client whose socket takes nothing (``streams.consumers`` drops
  one that falls too far behind) would wait for ever: here the connection is aborted instead.
  And a connection that sent its close (the app's, or 1011 on a missed pong) is aborted when
  the close has not finished within ``close_timeout``: uvicorn only closes the transport then,
  which asyncio finishes once the write buffer has drained, never for such a client.
"""

from __future__ import annotations

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

WRITE_TEXTS = "exchange.websocket.write_texts"  # the scope extension: write_texts(list[str]) -> bool


class FanOutWebSocketProtocol(WebSocketsSansIOProtocol):
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

    def _open(self) -> bool:
        return self.handshake_complete and not self.close_sent and not self.transport.is_closing()

    # --- closes that cannot hang -----------------------------------------------------------

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "websocket.close" and self.handshake_complete and not self.close_sent:
            if not self.writable.is_set():
                # The peer reads nothing: its close frame would wait behind a full buffer for
                # ever. Drop the connection instead.
                code, reason = message.get("code", 1000), message.get("reason") or ""
                self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
                self.close_sent = True
                self.transport.abort()
                return
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_timer is not None:
            self._abort_later()  # in place of uvicorn's timer, whose close waits for the buffer

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        if self.close_sent and self.close_timer is None:  # it sent the 1011 close just now
            self._abort_later()

    def _abort_later(self) -> None:
        """Abort the connection ``close_timeout`` from now, on ``close_timer``: uvicorn cancels
        that timer once the peer answers the close and when the connection is lost."""
        if self.close_timer is not None:
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
