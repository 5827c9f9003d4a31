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
