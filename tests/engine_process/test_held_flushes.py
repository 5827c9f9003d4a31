"""Caught up, the engine holds each flush and sends it in front of its next read, in the same
write. Every flush still goes out exactly once and in order, and before anything that says its
commands are done: a snapshot, the end of the loop; the status goes out in the flush of the
commands it names."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest

from contract.names import STATUS_KEY
from engine import process
from engine.lease import Lease
from engine.process import EngineProcess
from engine.redis_batch import CommandBatch
from history.outbox import outbox
from tests.engine_process.stubs import QuietRedis

pytestmark = pytest.mark.asyncio


def batch(n: int) -> list:
    """A read's replies: one entry (not a command: applying it changes nothing), nobody
    subscribed privately."""
    return [[[b"engine.commands", [[f"{n}-0".encode(), [b"cmd", b"{}"]]]]], [b"v"]]


@dataclass
class Prepared:
    number: int
    frames: dict = field(default_factory=dict)
    commands: CommandBatch = field(default_factory=CommandBatch)
    handoffs: list = field(default_factory=list)

    def statuses(self) -> list[str]:
        """The stream ids named by the status writes of this flush."""
        args = self.commands.args
        return [
            json.loads(args[i + 1])["stream_id"]
            for i, a in enumerate(args)
            if a == STATUS_KEY and args[i - 1] == "SET"
        ]


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
        self.flushed: list[Prepared] = []
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
    def full_state(self, stale_keys, recent_history_keys) -> list:
        return []

    def prepare(self, listening, persist_now: bool = False) -> Prepared:
        self.prepared += 1
        return Prepared(self.prepared, self.frames)

    async def send(self, outgoing: Prepared, then=()) -> list:
        self.sent.append((outgoing.number, bool(then)))
        self.flushed.append(outgoing)
        return await self.next_read() if then else []

    def flushes(self) -> list[int]:
        return [number for number, _ in self.sent]


@pytest.fixture
def engine(monkeypatch, tmp_path, gc_state_restored):
    def make(reads: int, slow_read: int = 0, **options) -> tuple[EngineProcess, CaughtUp]:
        lease = Lease("1 test", ttl_ms=5000)  # a heartbeat a second
        engine_process = EngineProcess(
            QuietRedis(), None, lease, lambda *handed: None, tmp_path, **options, outbox=outbox()
        )
        caught_up = CaughtUp(engine_process, reads, slow_read)
        engine_process.link = caught_up
        monkeypatch.setattr(process, "Publisher", lambda *args, **kwargs: caught_up)
        return engine_process, caught_up

    return make


async def test_every_flush_goes_out_once_in_order_with_the_read_after_it_and_the_last_at_the_stop(engine):
    engine_process, caught_up = engine(reads=3)

    await engine_process.run()

    # Flush 4 is the empty read's, prepared as the loop stopped; 5 the last hand-off to
    # persistence before the final snapshot.
    assert caught_up.sent == [(1, True), (2, True), (3, True), (4, False), (5, False)]


async def test_a_snapshot_is_taken_only_once_the_flush_of_its_commands_went_out(engine, monkeypatch):
    engine_process, caught_up = engine(reads=2, snapshot_every_commands=1)
    sent_at_snapshot: list[list[int]] = []
    fork = lambda: sent_at_snapshot.append(caught_up.flushes())  # noqa: E731
    monkeypatch.setattr(engine_process, "_fork_snapshot", fork)

    await engine_process.run()

    # Flush 2 hands everything to persistence at the snapshot's point.
    assert sent_at_snapshot[0] == [1, 2]


async def test_the_status_goes_out_in_the_flush_of_the_commands_it_names(engine):
    engine_process, caught_up = engine(reads=3, slow_read=2)

    await engine_process.run()

    # Flush n follows read n (entry n-0); the slow read makes a heartbeat due for flush 2.
    statuses = [(f.number, stream_id) for f in caught_up.flushed for stream_id in f.statuses()]
    assert statuses[:2] == [(1, "1-0"), (2, "2-0")]


async def test_a_flush_with_frames_for_group_send_goes_out_at_once_not_held(engine):
    """Those frames go once its script has landed: held, they would wait for the read behind it."""
    engine_process, caught_up = engine(reads=2)
    caught_up.frames = {"trade.SOL_USD": [{"stream": "trade.SOL_USD", "data": {}}]}

    await engine_process.run()

    assert caught_up.sent == [(1, False), (2, False), (3, False), (4, False)]
