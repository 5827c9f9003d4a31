"""Protocol-level ping/pong keeps a connection alive (shared/API.md): the web server pings every
``WS_PING_INTERVAL_S`` and closes, with 1011, a connection from which nothing came back within
``WS_PING_TIMEOUT_S``, so a peer that vanished without closing does not hold its subscriptions
forever. Run against the real web server (``manage.py run_web``)."""

from __future__ import annotations

import asyncio
import json
import struct
import time

import pytest
import websockets
from asgiref.sync import sync_to_async

from engine.client import submit
from engine.core.messages import PlaceOrder
from tests.conftest import wait_until
from tests.streams.test_slow_clients import NeverReads, append_all, connection_ended, crossing_pairs

pytestmark = [pytest.mark.asyncio, pytest.mark.services]


@pytest.fixture
def pinging_server(start_web_server):
    return start_web_server(WS_PING_INTERVAL_S="0.5", WS_PING_TIMEOUT_S="0.5")


def frames_until_closed(client: NeverReads) -> list[tuple[int, bytes]]:
    """(opcode, payload) of every frame the server sent until it closed the connection."""
    data = b""
    while chunk := client.sock.recv(65536):
        data += chunk
    frames, i = [], 0
    while i + 2 <= len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        frames.append((opcode, data[i + 2 : i + 2 + length]))
        i += 2 + length
    return frames


async def test_a_client_that_never_answers_pings_is_closed_with_1011(pinging_server):
    silent = NeverReads(pinging_server.port)  # reads nothing and so answers no ping
    started = time.monotonic()
    frames = await asyncio.get_running_loop().run_in_executor(None, frames_until_closed, silent)
    elapsed = time.monotonic() - started

    assert [opcode for opcode, _ in frames] == [0x9, 0x8]  # one ping, then the close
    assert struct.unpack("!H", frames[1][1][:2]) == (1011,)
    assert 0.9 < elapsed < 5


async def test_a_client_that_answers_pings_stays_connected(pinging_server):
    async with websockets.connect(pinging_server.ws_url, ping_interval=None) as client:  # answers pings
        await asyncio.sleep(3)  # six ping intervals
        await client.send("not json")
        reply = json.loads(await asyncio.wait_for(client.recv(), 3))

    assert reply == {"id": None, "error": {"code": 4006, "message": "Invalid frame: not JSON"}}


async def test_a_frame_too_large_to_be_a_request_closes_the_connection_as_it_arrives(pinging_server):
    async with websockets.connect(pinging_server.ws_url, ping_interval=None, max_size=None) as client:
        await client.send("x" * (1024 * 1024))  # 1 MiB, against a limit of 256 KiB
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.recv(), 5)

    assert closed.value.rcvd.code == 1009  # message too big


async def test_a_client_whose_1011_close_cannot_be_written_is_disconnected_after_the_close_timeout(
    engine_process, fund, make_user, start_web_server
):
    """A client that reads nothing misses its pong once its socket is full, so the close cannot
    reach it: the connection is aborted the close timeout (10 s) after the 1011, not held open.
    The slow-client limits are out of reach, so the close is the keepalive's."""
    limits_out_of_reach = {"STREAMS_MAX_PENDING_FRAMES": "1000000", "STREAMS_MAX_SEND_STALL_S": "600"}
    server = await sync_to_async(start_web_server)(
        WS_PING_INTERVAL_S="20", WS_PING_TIMEOUT_S="1", **limits_out_of_reach
    )
    maker, taker = await sync_to_async(make_user)("maker"), await sync_to_async(make_user)("taker")
    await sync_to_async(fund)(maker, "SOL", "1000000")
    await sync_to_async(fund)(taker, "USDC", "1000000000")
    stuck = NeverReads(server.port)
    connected = time.monotonic()
    stuck.send_text(json.dumps({"method": "SUBSCRIBE", "params": ["trade.SOL_USDC", "depth.SOL_USDC"]}))
    await asyncio.sleep(0.5)
    await sync_to_async(append_all)(crossing_pairs(maker, taker, 20000))  # ~5 MB: more than buffers take
    last = PlaceOrder(ts=0, account=maker.pk, market="SOL_USDC", side="Ask", order_type="Limit",
                      price=20000, quantity=1)  # fmt: skip
    await sync_to_async(submit)(last, 120)  # replied to once the engine is through the others
    assert time.monotonic() - connected < 18, "the socket must be full before the first ping"

    await sync_to_async(wait_until)(
        lambda: connection_ended(stuck), 60, "the connection to end", server.log, pause=0.25
    )
    ended = time.monotonic() - connected

    assert 30 < ended < 50  # the ping at 20 s, its pong missed at 21, aborted at 31
    assert "dropping slow websocket client" not in server.log_path.read_text()
