"""What the engine loop does when an iteration fails: the flush it was still sending is not
orphaned."""

from __future__ import annotations

import asyncio

import pytest

from engine import process
from engine.process import EngineProcess

pytestmark = pytest.mark.asyncio


class BacklogRedis:
    """Every read returns a full batch (a backlog), so each flush is sent while the next batch is
    read and applied. The entries are not commands: applying them changes nothing."""

    def set_response_callback(self, command, callback) -> None:
        pass

    async def xreadgroup(self, *args, **kwargs):
        return [[b"engine.commands", [(b"1-0", [b"cmd", b"{}"])]]]

    async def set(self, *args, **kwargs) -> None:
        pass


class RenderFailsSecondTime:
    """Prepares flush 1, sends it slowly, and fails to prepare flush 2."""

    def __init__(self) -> None:
        self.prepared = 0
        self.sent: list[int] = []
        self.replies: list = []

    async def prepare(self) -> int:
        self.prepared += 1
        if self.prepared == 2:
            raise RuntimeError("rendering failed")
        return self.prepared

    async def send(self, outgoing: int) -> None:
        await asyncio.sleep(0.05)
        self.sent.append(outgoing)


async def test_a_failing_iteration_still_finishes_sending_the_flush_in_flight(monkeypatch, tmp_path):
    monkeypatch.setattr(process, "READ_COUNT", 1)
    engine_process = EngineProcess(BacklogRedis(), None, lambda batch: None, tmp_path)
    publisher = RenderFailsSecondTime()
    monkeypatch.setattr(process, "Publisher", lambda *args: publisher)
    monkeypatch.setattr(engine_process, "position_group", _nothing)

    with pytest.raises(RuntimeError, match="rendering failed"):
        await engine_process.run()

    assert publisher.sent == [1]


async def _nothing() -> None:
    pass
