"""Clients that read slowly or never: they are dropped without holding up the engine or anyone
else, and a web process that stops reading cannot make Redis hold more than the channel layer's
capacity. The end-to-end tests run the real web server (uvicorn via ``manage.py run_web``) and
the real engine, so TCP back-pressure is real."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time

import pytest
import websockets
from asgiref.sync import sync_to_async

from engine.client import COMMAND_STREAM, encode, submit
from engine.core.messages import PlaceOrder
from tests.conftest import wait_until

pytestmark = [pytest.mark.asyncio, pytest.mark.services]


class NeverReads:
    """A websocket client on a raw socket with a tiny receive buffer that subscribes and then
    never reads, so the server's writes to it block as a stuck phone or browser tab would."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        assert response.startswith(b"HTTP/1.1 101"), response
        self.sock.settimeout(30)

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else bytes([0x81, 0x80 | 126])
        if len(payload) >= 126:
            header += struct.pack("!H", len(payload))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def read_until_closed(self) -> tuple[list[dict], int | None]:
        """Everything the server had sent, then how it ended: (text frames, close code or None)."""
        data = b""
        self.timed_out = False
        try:
            while chunk := self.sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:  # the server never ended the connection
            self.timed_out = True
        frames, close_code, i = [], None, 0
        while i + 2 <= len(data):
            opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
            i += 2
            if length == 126:
                length, i = struct.unpack("!H", data[i : i + 2])[0], i + 2
            elif length == 127:
                length, i = struct.unpack("!Q", data[i : i + 8])[0], i + 8
            payload, i = data[i : i + length], i + length
            if len(payload) < length:
                break  # cut off by the reset
            if opcode == 0x1:
                frames.append(json.loads(payload))
            elif opcode == 0x8 and len(payload) >= 2:
                close_code = struct.unpack("!H", payload[:2])[0]
        return frames, close_code


def crossing_pairs(maker, taker, count: int, first_price: int = 14000) -> list[PlaceOrder]:
    """``count`` trades: a resting ask, then a bid that takes it."""
    orders = []
    for i in range(count):
        price = first_price + i % 50
        orders.append(PlaceOrder(ts=0, account=maker.pk, market="SOL_USDC", side="Ask", order_type="Limit",
                                 price=price, quantity=10))  # fmt: skip
        orders.append(PlaceOrder(ts=0, account=taker.pk, market="SOL_USDC", side="Bid", order_type="Limit",
                                 price=price, quantity=10))  # fmt: skip
    return orders


def append_all(commands: list[PlaceOrder]) -> None:
    """Append without waiting for replies, pipelined: the engine gets them as fast as it reads."""
    from exchange_site.redis_client import get_redis

    for i in range(0, len(commands), 1000):
        pipe = get_redis().pipeline(transaction=False)
        for command in commands[i : i + 1000]:
            pipe.xadd(COMMAND_STREAM, encode(command, None))
        pipe.execute()


@pytest.fixture
def rich_traders(make_funded_user) -> tuple:
    """A maker with 1,000,000 SOL and a taker with 1,000,000,000 USDC: enough for tens of
    thousands of trades."""
    return make_funded_user("maker", SOL="1000000"), make_funded_user("taker", USDC="1000000000")


async def test_a_client_that_never_reads_is_dropped_while_a_reading_client_gets_every_event(
    rich_traders, web_server
):
    maker, taker = rich_traders
    streams = ["trade.SOL_USDC", "depth.SOL_USDC", "bookTicker.SOL_USDC"]
    stuck = NeverReads(web_server.port)
    stuck.send_text(json.dumps({"method": "SUBSCRIBE", "params": streams}))
    trades: list[dict] = []
    fill, trickle = 20000, 2000  # ~5 MB of frames fill the stuck socket; then trades go on for 5 s
    async with websockets.connect(web_server.ws_url, max_queue=None) as reader:
        await reader.send(json.dumps({"method": "SUBSCRIBE", "params": streams}))
        await asyncio.sleep(0.5)  # both subscriptions are in place

        async def read_trades(count: int) -> None:
            while len(trades) < count:
                frame = json.loads(await reader.recv())
                if frame["stream"] == "trade.SOL_USDC":
                    trades.append(frame["data"])

        reading = asyncio.ensure_future(read_trades(fill + trickle))
        await sync_to_async(append_all)(crossing_pairs(maker, taker, fill))
        for _ in range(trickle // 40):
            await sync_to_async(append_all)(crossing_pairs(maker, taker, 40))
            await asyncio.sleep(0.1)
        await sync_to_async(submit)(PlaceOrder(ts=0, account=maker.pk, market="SOL_USDC", side="Ask",
                                               order_type="Limit", price=20000, quantity=1), 120)  # fmt: skip
        done_at = time.monotonic()
        try:
            await asyncio.wait_for(reading, 60)
        except TimeoutError:
            raise AssertionError(f"{len(trades)} trades; log:\n{web_server.log()}") from None
        lag = time.monotonic() - done_at

    frames, close_code = await asyncio.get_running_loop().run_in_executor(None, stuck.read_until_closed)
    stuck_trades = [f for f in frames if f["stream"] == "trade.SOL_USDC"]

    assert [t["t"] for t in trades] == list(range(1, fill + trickle + 1))  # every trade, in order
    assert lag < 5.0  # the reader kept up while the other client was stuck
    assert len(stuck_trades) < fill, web_server.log()  # cut off, not fed forever
    assert stuck_trades == [{"stream": "trade.SOL_USDC", "data": t} for t in trades[: len(stuck_trades)]]
    assert close_code in (1008, None)  # closed as too slow (or reset: not even the close could be written)
    assert not stuck.timed_out  # ended, not left hanging on a close that can never be written


def connection_ended(client: NeverReads) -> bool:
    """Whether the server has ended the connection, found without reading: writing to a socket
    the server has reset fails (the first write after the reset may still be taken)."""
    try:
        client.send_text("still there?")
    except OSError:  # ConnectionResetError, BrokenPipeError
        return True
    return False


async def test_a_dropped_client_that_reads_nothing_is_disconnected_not_held_open(rich_traders, web_server):
    """Its close frame can never be written (its socket takes nothing), so the server must not
    wait for that: a dropped client's connection, its buffers and its task must go."""
    maker, taker = rich_traders
    stuck = NeverReads(web_server.port)
    stuck.send_text(json.dumps({"method": "SUBSCRIBE", "params": ["trade.SOL_USDC", "depth.SOL_USDC"]}))
    await asyncio.sleep(0.5)
    await sync_to_async(append_all)(crossing_pairs(maker, taker, 20000))  # ~5 MB: far more than it takes

    def dropped() -> bool:
        # Trades go on (a client is judged when the next frames come); the fixture drops a
        # client whose socket took nothing for 2 s.
        if connection_ended(stuck):
            return True
        append_all(crossing_pairs(maker, taker, 20, first_price=15000))
        return False

    await sync_to_async(wait_until)(dropped, 60, "the server to drop the client", web_server.log, pause=0.25)
    assert "dropping slow websocket client" in web_server.log_path.read_text()
