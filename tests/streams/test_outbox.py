"""The per-connection outbox: frames go out in order from its own task; a connection whose
socket is too far behind or stuck reports itself overloaded so the consumer can drop it."""

from __future__ import annotations

import asyncio

import pytest

from streams.outbox import Outbox

pytestmark = pytest.mark.asyncio


async def test_frames_are_written_in_the_order_they_were_queued():
    written: list[str] = []

    async def send(text: str) -> None:
        written.append(text)

    outbox = Outbox(send)
    outbox.start()
    outbox.put(["a", "b"])
    outbox.put(["c"])
    await asyncio.sleep(0.01)
    await outbox.stop()
    assert written == ["a", "b", "c"]


async def test_a_connection_more_frames_behind_than_the_limit_is_overloaded():
    blocked = asyncio.Event()

    async def send(text: str) -> None:
        await blocked.wait()  # a socket that takes nothing

    outbox = Outbox(send, max_pending=3, max_stall_s=60)
    outbox.start()
    outbox.put(["1", "2", "3", "4"])  # one is taken by the writer, three wait
    await asyncio.sleep(0.01)
    assert not outbox.overloaded()
    outbox.put(["5"])
    assert outbox.overloaded()
    await outbox.stop()
    assert len(outbox) == 0


async def test_one_large_batch_to_a_reading_client_is_not_overload():
    outbox = Outbox(lambda text: asyncio.sleep(0), max_pending=3, max_stall_s=60)
    assert not outbox.overloaded()  # checked before a batch is queued, whatever its size
    outbox.put([str(i) for i in range(100)])
    outbox.start()
    await asyncio.sleep(0.05)
    assert len(outbox) == 0 and not outbox.overloaded()
    await outbox.stop()


async def test_a_write_stuck_longer_than_the_stall_limit_is_overloaded():
    async def send(text: str) -> None:
        await asyncio.Event().wait()

    outbox = Outbox(send, max_pending=1000, max_stall_s=0.05)
    outbox.start()
    outbox.put(["x"])
    await asyncio.sleep(0.01)
    assert not outbox.overloaded()
    await asyncio.sleep(0.06)
    assert outbox.overloaded()
    await outbox.stop()


async def test_a_failed_write_stops_the_writer_quietly():
    async def send(text: str) -> None:
        raise ConnectionResetError

    outbox = Outbox(send)
    outbox.start()
    outbox.put(["x", "y"])
    await asyncio.sleep(0.01)
    assert len(outbox) == 0
    await outbox.stop()


class Socket:
    """The web server's synchronous writer (``ws_protocol.WRITE_TEXTS``): takes frames while
    ``taking``, refuses them (returning False) when backed up."""

    def __init__(self) -> None:
        self.taking = True
        self.written: list[str] = []
        self.calls = 0

    def write_now(self, texts: list[str]) -> bool:
        self.calls += 1
        if self.taking:
            self.written += texts
        return self.taking

    async def send(self, text: str) -> None:  # the ASGI send: waits until the socket takes it
        while not self.taking:
            await asyncio.sleep(0.005)
        self.written.append(text)


async def test_frames_go_straight_to_a_socket_that_takes_them_without_queueing():
    socket = Socket()
    outbox = Outbox(socket.send, socket.write_now)
    outbox.start()
    outbox.put(["a", "b"])
    assert (socket.written, socket.calls, len(outbox)) == (["a", "b"], 1, 0)  # at once, one write
    await outbox.stop()


async def test_once_the_socket_backs_up_frames_queue_and_none_overtakes_another():
    socket = Socket()
    outbox = Outbox(socket.send, socket.write_now)
    outbox.start()
    outbox.put(["1"])
    socket.taking = False
    outbox.put(["2", "3"])  # refused: queued for the writer task
    socket.taking = True
    outbox.put(["4"])  # the socket takes data again, but 2 and 3 are still queued: 4 waits too
    assert socket.written == ["1"] and len(outbox) == 3
    await asyncio.sleep(0.05)
    outbox.put(["5"])  # caught up: straight to the socket again
    assert socket.written == ["1", "2", "3", "4", "5"] and len(outbox) == 0
    await outbox.stop()
