"""Caught up, the engine holds each flush and sends it in front of its next read, in the same
write. Every flush still goes out exactly once and in order, and before anything that says its
commands are done: the status, a snapshot, the end of the loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from engine import process
from engine.process import EngineProcess

pytestmark = pytest.mark.asyncio


def batch(n: int) -> list:
    """A read's replies: one entry (not a command: applying it changes nothing), nobody
    subscribed privately."""
    return [[[b"engine.commands", [[f"{n}-0".encode(), [b"cmd", b"{}"]]]]], [b"v"]]


@dataclass
class Prepared:
    number: int
    frames: dict = field(default_factory=dict)


class CaughtUp:
    """The reads (alone or behind a held flush) and the flushes, recorded in order. Read n
    returns entry n-0 until ``reads`` batches were read; the next read stops the engine."""

    def __init__(self, engine_process: EngineProcess, reads: int, slow_read: int = 0) -> None:
        self.engine_process = engine_process
        self.reads = reads
        self.slow_read = slow_read  # this read takes a second (a heartbeat falls due)
        self.read = 0
        self.prepared = 0
        self.frames: dict = {}  # every flush's frames for group_send
        self.sent: list[tuple[int, bool]] = []  # (flush, sent with a read)
        self.replies: list = []

    async def next_read(self) -> list:
        self.read += 1
        if self.read == self.slow_read:
            await asyncio.sleep(1.05)
        if self.read > self.reads:
            self.engine_process.stopping.set()
            return [None, [b"v"]]
        return batch(self.read)

    # the engine's Link
    async def exchange(self, commands) -> list:
        return await self.next_read()

    # the publisher
    def prepare(self, listening) -> Prepared:
        self.prepared += 1
        return Prepared(self.prepared, self.frames)

    async def send(self, outgoing: Prepared, then=()) -> list:
        self.sent.append((outgoing.number, bool(then)))
        return await self.next_read() if then else []

    def flush_persistence(self) -> None:
        pass

    def flushes(self) -> list[int]:
        return [number for number, _ in self.sent]


class StatusRedis:
    def __init__(self, caught_up: CaughtUp | None = None) -> None:
        self.beats: list[tuple[str, list[int]]] = []  # (status stream id, flushes sent by then)
        self.caught_up = caught_up

    async def set(self, key, value, ex=None) -> None:
        self.beats.append((value, self.caught_up.flushes() if self.caught_up else []))

    async def delete(self, key) -> None:
        pass


@pytest.fixture
def engine(monkeypatch, tmp_path, gc_state_restored):
    def make(reads: int, slow_read: int = 0, **options) -> tuple[EngineProcess, CaughtUp, StatusRedis]:
        status = StatusRedis()
        engine_process = EngineProcess(status, None, lambda batch: None, tmp_path, **options)
        caught_up = status.caught_up = CaughtUp(engine_process, reads, slow_read)
        engine_process.link = caught_up
        monkeypatch.setattr(process, "Publisher", lambda *args: caught_up)
        monkeypatch.setattr(engine_process, "position_group", _nothing)
        return engine_process, caught_up, status

    return make


async def test_every_flush_goes_out_once_in_order_with_the_read_after_it_and_the_last_at_the_stop(engine):
    engine_process, caught_up, _status = engine(reads=3)

    await engine_process.run()

    # Flush 4 is the empty read's, prepared as the loop stopped.
    assert caught_up.sent == [(1, True), (2, True), (3, True), (4, False)]


async def test_a_snapshot_is_taken_only_once_the_flush_of_its_commands_went_out(engine, monkeypatch):
    engine_process, caught_up, _status = engine(reads=2, snapshot_every_commands=1)
    sent_at_snapshot: list[list[int]] = []
    fork = lambda: sent_at_snapshot.append(caught_up.flushes())  # noqa: E731
    monkeypatch.setattr(engine_process, "_fork_snapshot", fork)

    await engine_process.run()

    assert sent_at_snapshot[0] == [1]
    assert caught_up.flushes() == [1, 2, 3]


async def test_the_status_names_a_command_only_once_its_flush_went_out(engine):
    engine_process, caught_up, status = engine(reads=3, slow_read=2)

    await engine_process.run()

    sent = next(sent for value, sent in status.beats if '"stream_id": "2-0"' in value)
    assert sent == [1, 2]
    assert caught_up.flushes() == [1, 2, 3, 4]


async def test_a_flush_with_frames_for_group_send_goes_out_at_once_not_held(engine):
    """Those frames go once its MULTI has landed: held, they would wait for the read behind it."""
    engine_process, caught_up, _status = engine(reads=2)
    caught_up.frames = {"trade.SOL_USD": [{"stream": "trade.SOL_USD", "data": {}}]}

    await engine_process.run()

    assert caught_up.sent == [(1, False), (2, False), (3, False)]


async def _nothing() -> None:
    pass
