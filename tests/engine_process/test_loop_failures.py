"""What the engine loop does when an iteration fails: the flush it was still sending is not
orphaned, a failing send does not hide the failure, and the automatic GC is back on."""

from __future__ import annotations

import asyncio
import gc

import pytest

from engine import process
from engine.lease import Lease
from engine.process import EngineProcess
from engine.publisher import Outgoing
from engine.redis_batch import CommandBatch, FlushFailed
from history.outbox import outbox
from tests.engine_process.stubs import QuietRedis

pytestmark = pytest.mark.asyncio


class BacklogLink:
    """Every read returns a full batch (a backlog), so each flush is sent while the next batch is
    read and applied. The entries are not commands: applying them changes nothing. Nobody
    subscribed privately."""

    async def exchange(self, commands) -> list:
        return [[[b"engine.commands", [[b"1-0", [b"cmd", b"{}"]]]]], [b"version"]]


class RenderFailsSecondTime:
    """Prepares flush 1, sends it slowly (or fails to), and fails to prepare flush 2."""

    def __init__(self, send_error: Exception | None = None) -> None:
        self.send_error = send_error
        self.prepared = 0
        self.sent: list[int] = []
        self.replies: list = []

    def full_state(self, stale_keys, recent_history_keys) -> list:
        return []

    def prepare(self, listening) -> Outgoing:
        self.prepared += 1
        if self.prepared == 2:
            raise RuntimeError("rendering failed")
        return Outgoing(CommandBatch(), {}, [self.prepared])

    async def send(self, outgoing: Outgoing, then=()) -> None:
        await asyncio.sleep(0.05)
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(outgoing.handoffs[0])


@pytest.fixture
def run_loop(monkeypatch, tmp_path, gc_state_restored):
    async def run(publisher: RenderFailsSecondTime) -> None:
        monkeypatch.setattr(process, "READ_COUNT", 1)
        lease = Lease("1 test", ttl_ms=5000)
        engine_process = EngineProcess(
            QuietRedis(), None, lease, lambda *handed: None, tmp_path, outbox=outbox()
        )
        engine_process.link = BacklogLink()
        monkeypatch.setattr(process, "Publisher", lambda *args, **kwargs: publisher)
        await engine_process.run()

    return run


async def test_a_failing_iteration_still_finishes_sending_the_flush_in_flight(run_loop):
    publisher = RenderFailsSecondTime()

    with pytest.raises(RuntimeError, match="rendering failed"):
        await run_loop(publisher)

    assert publisher.sent == [1]


async def test_a_flush_that_fails_too_does_not_hide_why_the_loop_stopped(run_loop, caplog):
    publisher = RenderFailsSecondTime(send_error=FlushFailed("redis refused it"))

    with pytest.raises(RuntimeError, match="rendering failed"):
        await run_loop(publisher)

    assert "sending the last flush failed as well" in caplog.text


async def test_the_automatic_gc_is_back_on_after_the_loop_failed(run_loop):
    gc.enable()

    with pytest.raises(RuntimeError):
        await run_loop(RenderFailsSecondTime(send_error=FlushFailed("redis refused it")))

    assert gc.isenabled()
