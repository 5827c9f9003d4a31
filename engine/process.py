"""The engine process: the imperative shell around ``engine.core.Engine``.

Loop: read a batch of commands from the Redis stream (a consumer group, positioned after the
last snapshot), apply each to the core, hand the events to the publisher, flush. Recovery is
snapshot + replay: the core is deterministic and each command's time is its stream entry id,
so replaying the entries after the snapshot rebuilds exactly the state before a crash.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import time
from pathlib import Path

import redis.exceptions

from engine import jsonfast, redis_batch, snapshots
from engine.client import COMMAND_STREAM
from engine.core import Engine
from engine.core.codec import command_from_dict
from engine.publisher import PRIVATE_SUBSCRIBERS_KEY, PRIVATE_SUBSCRIBERS_VERSION_KEY, Outgoing, Publisher
from engine.ticker import RollingTicker

log = logging.getLogger("engine")

GROUP = "engine"
CONSUMER = "engine-1"
READ_COUNT = 2000
READ_BLOCK_MS = 50
STATUS_KEY = "engine.status"
STATUS_TTL_S = 5


# Resting orders live long and hold no reference cycles, yet the cyclic GC's automatic passes
# traverse them again and again: with a threshold of 700 allocations a loop iteration of 2,000
# commands triggers dozens of young passes, and the old-generation passes walk every order that
# came since the last freeze (40 ms each, ~10 % of the engine's CPU in bench/engine_pipeline.py,
# and the worst of its latency). So the automatic GC is off while the loop runs: after each
# iteration the young generation is collected once (cycles made by that iteration are reclaimed:
# asyncio futures holding exceptions, replaced redis-py connections) and what survived is frozen
# (left out of every later pass; frozen objects are still freed by reference counting). Garbage
# in a cycle that was frozen before it became garbage is reclaimed only by a full collection,
# every GC_FULL_EVERY_S: one pause that long.
GC_FULL_EVERY_S = 600.0


def freeze_survivors(full: bool = False) -> None:
    """Collect the young generation (everything, when ``full``) and freeze what survived."""
    if full:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(0)
    gc.freeze()


def stream_ts(entry_id: bytes | str) -> int:
    """A command's time: the milliseconds part of its stream entry id."""
    return int(entry_id[: entry_id.index(b"-" if isinstance(entry_id, bytes) else "-")])


# Who subscribes privately, if it changed: KEYS the hash and its version, ARGV[1] the version the
# engine knows. Returns {version}, or {version, account, ...} when the version is another.
LISTENERS_SCRIPT = """
local version = redis.call('GET', KEYS[2]) or 'none'
if version == ARGV[1] then return {version} end
local accounts = redis.call('HKEYS', KEYS[1])
table.insert(accounts, 1, version)
return accounts
"""


class EngineProcess:
    def __init__(
        self,
        redis,
        channel_layer,
        send_persist_batch,
        snapshot_dir: Path,
        snapshot_every_s: float = 60.0,
        snapshot_every_commands: int = 200_000,
    ):
        self.redis = redis
        # The connection of the reads made alone; a held flush and the read behind it go on
        # the publisher's (see _read).
        self.link = redis_batch.Link(redis)
        self.channel_layer = channel_layer
        self.send_persist_batch = send_persist_batch
        self.snapshot_dir = snapshot_dir
        self.snapshot_every_s = snapshot_every_s
        self.snapshot_every_commands = snapshot_every_commands
        self.engine = Engine()
        self.tickers: dict[str, RollingTicker] = {}
        self.last_id = "0-0"
        self.stopping = asyncio.Event()
        self._commands_since_snapshot = 0
        self._snapshot_started_at = time.monotonic()
        self._snapshot_child: tuple[int, str] | None = None  # (pid, stream id it covers)
        self._sending: asyncio.Future | None = None  # the flush being sent (see _serve)
        self._pending: Outgoing | None = None  # the flush that goes out with the next read
        self.publisher: Publisher | None = None  # run()'s
        # PRIVATE_SUBSCRIBERS_VERSION_KEY as last read; b"": read the accounts at the next read.
        self._listeners_version: bytes = b""

    # --- recovery ------------------------------------------------------------------------

    def load_snapshot(self) -> None:
        data = snapshots.load_newest(self.snapshot_dir)
        if data is None:
            log.info("no snapshot: replaying the command stream from its start")
            return
        self.engine = Engine.restore(data.core)
        freeze_survivors(full=True)  # the restored resting orders: see GC_FULL_EVERY_S
        self.tickers = {s: RollingTicker.from_state(t) for s, t in data.extras.get("tickers", {}).items()}
        self.last_id = data.stream_id
        log.info("restored snapshot at stream id %s (seq %s)", self.last_id, self.engine.last_seq)

    async def position_group(self) -> None:
        """Point the consumer group just after the snapshot, so '>' replays what follows."""
        try:
            await self.redis.xgroup_create(COMMAND_STREAM, GROUP, id=self.last_id, mkstream=True)
        except Exception as exc:  # BUSYGROUP: it exists; move it
            if "BUSYGROUP" not in str(exc):
                raise
            await self.redis.xgroup_setid(COMMAND_STREAM, GROUP, id=self.last_id)

    async def _number_after_last_id(self) -> None:
        """A recreated stream numbers its entries from the clock again: an append within the
        millisecond of the last applied id would get an id at or below it, which the group
        counts as read, and that command would never be applied. So the stream goes on from
        the last applied id."""
        try:
            await self.redis.execute_command("XSETID", COMMAND_STREAM, self.last_id)
        except redis.exceptions.ResponseError as exc:
            # An entry above the last applied id is there already: the ones after it follow it.
            if "smaller than the target stream top item" not in str(exc):
                raise

    # --- the loop --------------------------------------------------------------------------

    def apply_entry(self, publisher: Publisher, entry_id: bytes, fields: list[bytes]) -> None:
        """Apply one stream entry: its id and its fields as Redis sends them (name, value, ...)."""
        fields = dict(zip(fields[::2], fields[1::2], strict=False))
        reply_to = fields.get(b"reply_to") or None
        try:
            body = jsonfast.loads(fields[b"cmd"])
            body["ts"] = stream_ts(entry_id)
            command = command_from_dict(body)
        except (KeyError, ValueError, TypeError) as exc:
            # Not a command: nothing to apply, and replay will skip it the same way.
            log.warning("malformed command %s: %s", entry_id.decode(), exc)
            if reply_to:
                publisher.replies.append((reply_to, [_malformed(str(exc))]))
            return
        try:
            events = self.engine.apply(command)
        except Exception:
            log.exception("engine failed on command %s: %r", entry_id.decode(), command)
            if reply_to:
                publisher.replies.append((reply_to, [_malformed("internal engine error")]))
            return
        publisher.collect(events, reply_to)

    async def run(self) -> None:
        publisher = Publisher(
            self.engine, self.redis, self.channel_layer, self.send_persist_batch, self.tickers
        )
        self.publisher = publisher
        self._listeners_version = b""  # a new publisher knows no private subscriber yet
        await self.position_group()
        await self._heartbeat(force=True)
        log.info("engine ready after stream id %s", self.last_id)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # see GC_FULL_EVERY_S
        try:
            await self._serve()
            await self._sent()
        except BaseException:
            # The flush already prepared still goes out instead of being left running unawaited;
            # if it fails too, that is logged, not raised over the failure that stopped the loop.
            try:
                await self._sent()
            except Exception:
                log.exception("sending the last flush failed as well")
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
        try:
            publisher.flush_persistence()
        except Exception as exc:
            # Without the hand-off the snapshot must not cover these events: replay re-emits them.
            log.error("could not hand the last events to persistence (%s); no final snapshot", exc)
            return
        self.write_snapshot()
        try:
            await self.redis.delete(STATUS_KEY)
        except Exception:  # Redis may be stopping with us (make run's Ctrl-C); nothing is lost
            pass

    async def _serve(self) -> None:
        """Read, apply and flush until asked to stop. The last flush may still be in flight or
        held for the next read (``_sent``)."""
        publisher = self.publisher
        last_beat = last_full_gc = time.monotonic()
        # With a backlog, the previous flush is still being sent while the next batch is read
        # and applied: Redis executing one flush and the engine applying the next overlap
        # instead of taking turns (+15-20 % commands/s in bench/engine_pipeline.py). Caught up,
        # the flush goes out in the same write as the next read, in front of it: one round trip
        # per iteration instead of two, and the flush's time still gathers the next commands
        # into one batch (reading at once would apply them one or two at a time and pay every
        # flush's fixed cost for each: p50 at 5,000/s 3.7 ms against 2.7). At most one flush is
        # in flight, so flushes (and replies) go out in order.
        while not self.stopping.is_set():
            try:
                response, listening = await self._read()
            except redis.exceptions.ResponseError as exc:
                # The stream (and its group) was deleted under us, e.g. by FLUSHDB: the state in
                # memory is intact; start a new log after the last applied id and carry on.
                if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                    raise
                log.error("command stream or group vanished (%s); recreating it", exc)
                await self.position_group()
                await self._number_after_last_id()
                continue
            backlog = False
            for _stream, entries in response:
                backlog = len(entries) >= READ_COUNT
                for entry_id, fields in entries:
                    self.apply_entry(publisher, entry_id, fields)
                if entries:
                    self.last_id = entries[-1][0].decode()
                    self._commands_since_snapshot += len(entries)
            outgoing = publisher.prepare(listening)
            await self._sent()  # raises what sending it raised
            if backlog:
                self._sending = asyncio.ensure_future(publisher.send(outgoing))
            elif outgoing.frames:
                # Frames for group_send go once the MULTI has landed: held, they would wait for
                # the read behind it (up to READ_BLOCK_MS).
                await publisher.send(outgoing)
            else:
                self._pending = outgoing
            now = time.monotonic()
            if now - last_beat >= 1.0:
                # The status says which commands are done: only once their flush has landed.
                await self._sent()
                await self._heartbeat()
                last_beat = now
                # The accounts are read again whatever their version says: a change made without
                # a new version (a web process of an older release during a deploy, a hand edit)
                # is seen within a second instead of at the next join or leave.
                self._listeners_version = b""
            full = now - last_full_gc >= GC_FULL_EVERY_S
            if full:
                await self._sent()  # a full collection can take a second: not with replies held
            freeze_survivors(full)  # see GC_FULL_EVERY_S
            if full:
                last_full_gc = now
            await self._reap_snapshot_child()
            if self._snapshot_due(now):
                # A snapshot must not cover a batch whose flush could still fail: a restart
                # replays only what follows it.
                await self._sent()
                publisher.flush_persistence()
                self._fork_snapshot()

    async def _read(self) -> tuple[list, list[bytes] | None]:
        """The next batch of commands, as Redis sends them (``[[stream, [[id, [field, value,
        ...]], ...]]]``: the engine reads each entry's two fields itself), and the accounts with
        a private subscriber as of right after it (``Publisher.prepare``; None when they did not
        change since the last read), in one round trip: Redis runs the script once the
        XREADGROUP has returned, even one that blocked. A flush held for this read goes in front
        of it, in the same write."""
        read = [
            ("XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", READ_COUNT, "BLOCK", READ_BLOCK_MS, "NOACK",
             "STREAMS", COMMAND_STREAM, ">"),
            ("EVAL", LISTENERS_SCRIPT, 2, PRIVATE_SUBSCRIBERS_KEY, PRIVATE_SUBSCRIBERS_VERSION_KEY,
             self._listeners_version),
        ]  # fmt: skip
        pending, self._pending = self._pending, None
        if pending is None:
            response, listeners = await self.link.exchange(read)
        else:
            response, listeners = await self.publisher.send(pending, then=read)
        # Errors come as values: the loop must tell a vanished group (NOGROUP) from any other.
        for result in (response, listeners):
            if isinstance(result, Exception):
                raise result
        response = response or []  # nil: the read timed out
        version, *accounts = listeners
        if version == self._listeners_version:
            return response, None
        self._listeners_version = version
        return response, accounts

    async def _sent(self) -> None:
        """Wait for the flush in flight, and send the one held for the next read, if any;
        raises what sending raised."""
        sending, self._sending = self._sending, None
        if sending is not None:
            await sending
        pending, self._pending = self._pending, None
        if pending is not None:
            await self.publisher.send(pending)

    async def _heartbeat(self, force: bool = False) -> None:
        status = {"pid": os.getpid(), "stream_id": self.last_id, "seq": self.engine.last_seq}
        await self.redis.set(STATUS_KEY, json.dumps(status), ex=STATUS_TTL_S)

    # --- snapshots ---------------------------------------------------------------------

    def _snapshot_data(self) -> snapshots.SnapshotData:
        return snapshots.SnapshotData(
            stream_id=self.last_id,
            core=self.engine.snapshot(),
            extras={"tickers": {s: t.to_state() for s, t in self.tickers.items()}},
        )

    def write_snapshot(self) -> Path:
        path = snapshots.write(self.snapshot_dir, self._snapshot_data())
        log.info("snapshot written: %s", path.name)
        return path

    def _snapshot_due(self, now: float) -> bool:
        if self._snapshot_child is not None or self._commands_since_snapshot == 0:
            return False
        return (
            self._commands_since_snapshot >= self.snapshot_every_commands
            or now - self._snapshot_started_at >= self.snapshot_every_s
        )

    def _fork_snapshot(self) -> None:
        """Write the snapshot from a fork()ed child: it sees the state frozen at this instant
        (copy-on-write) while the parent goes on matching, as Redis does for RDB files."""
        self._commands_since_snapshot = 0
        self._snapshot_started_at = time.monotonic()
        pid = os.fork()
        if pid == 0:  # child: write and leave without running any parent cleanup
            code = 0
            try:
                snapshots.write(self.snapshot_dir, self._snapshot_data())
            except BaseException:
                code = 1
            os._exit(code)
        self._snapshot_child = (pid, self.last_id)

    async def _reap_snapshot_child(self) -> None:
        if self._snapshot_child is None:
            return
        pid, stream_id = self._snapshot_child
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            return
        self._snapshot_child = None
        await self._sent()  # the replies held do not wait for the trim
        if os.waitstatus_to_exitcode(status) == 0:
            # The log before the snapshot is no longer needed for recovery.
            await self.redis.xtrim(COMMAND_STREAM, minid=stream_id, approximate=False)
            log.info("snapshot at %s written by child %s; stream trimmed", stream_id, pid)
        else:
            log.error("snapshot child %s failed; keeping the whole stream", pid)

    def install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)


def _malformed(message: str) -> dict:
    return {
        "type": "Rejected",
        "seq": 0,
        "ts": 0,
        "command": "?",
        "account": None,
        "market": None,
        "client_id": None,
        "code": "INVALID_CLIENT_REQUEST",
        "message": message,
    }
