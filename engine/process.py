"""The engine process: the imperative shell around ``engine.core.Engine``.

Loop: read a batch of commands from the command log (the Redis stream, read from the last
applied id on: the engine's position is its own, not the stream's), apply each to the core,
hand the events to the publisher, flush. Every flush is fenced by the engine's lease
(``engine.lease``): an engine that lost it writes nothing and exits. Recovery is snapshot +
replay: the core is deterministic and each command's time is its stream entry id, so replaying
the entries after the snapshot rebuilds exactly the state before a crash; ``run_engine`` checks
before anything is served that the log holds every entry the replay needs
(``engine.commandlog``).

Redis going away (a restart) does not stop the engine: it keeps its state, reconnects with
backoff, and sends again the flushes whose landing it could not see (at least once: a reply or
a public frame may then go out twice; persistence batches are idempotent).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

import redis.exceptions

from contract import jsonfast, md_cache
from contract.names import (
    ACCEPTING_KEY,
    APPENDED_KEY,
    COMMAND_STREAM,
    ENGINE_METRICS_KEY,
    PRIVATE_SUBSCRIBERS_KEY,
    PRIVATE_SUBSCRIBERS_VERSION_KEY,
    STATUS_KEY,
    stream_key,
)
from contract.persist_outbox import Outbox
from engine import lease, redis_batch, snapshots
from engine.commandlog import LOG_KEY, START, stream_ts
from engine.core import Engine
from engine.core.codec import command_from_dict
from engine.core.messages import Rejected
from engine.metrics import COUNT_AFTER_SCRIPT, EngineMetrics
from engine.publisher import Outgoing, Publisher
from engine.ticker import RollingTicker

log = logging.getLogger("engine")

READ_COUNT = 2000
READ_BLOCK_MS = 50
# How long the status and the web's permission to append outlive the engine's last heartbeat:
# the web answers 503 MAINTENANCE once they are gone.
STATUS_TTL_S = 2.0
RECONNECT_MAX_DELAY_S = 2.0
# Errors that mean Redis could not be reached or went away mid-exchange.
CONNECTION_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError)


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
        engine_lease: lease.Lease,
        send_persist_task: Callable[[str, list[dict]], None],
        snapshot_dir: Path,
        snapshot_every_s: float = 60.0,
        snapshot_every_commands: int = 200_000,
        max_lag_s: float = 5.0,
        outbox_floor: Callable[[], str | None] = lambda: None,
        requeue_outbox: Callable[[], object] = lambda: None,
        log_id: str | None = None,
        *,
        outbox: Outbox,
    ):
        """``outbox``: where the persistence batches wait for a worker (the database's).
        ``outbox_floor``: the oldest stream id a persistence batch not yet written needs
        (``contract.persist_outbox.Outbox.floor``); the log is never trimmed past it. ``requeue_outbox``:
        queue a task for every batch in the outbox (after a lost connection: a flush sent again
        may have landed the first time too, its batch then waiting without a task).
        ``log_id``: the command log's (``engine.commandlog``), written into every snapshot."""
        self.redis = redis
        # The connection of the reads made alone; a held flush and the read behind it go on
        # the publisher's (see _read).
        self.link = redis_batch.Link(redis)
        self.channel_layer = channel_layer
        self.lease = engine_lease
        self.send_persist_task = send_persist_task
        self.snapshot_dir = snapshot_dir
        self.snapshot_every_s = snapshot_every_s
        self.snapshot_every_commands = snapshot_every_commands
        self.max_lag_ms = int(max_lag_s * 1000)
        self.outbox = outbox
        self.outbox_floor = outbox_floor
        self.requeue_outbox = requeue_outbox
        self.log_id = log_id
        self.engine = Engine()
        self.metrics = EngineMetrics()
        self.tickers: dict[str, RollingTicker] = {}
        self.last_id = START
        self.stopping = asyncio.Event()
        self._commands_since_snapshot = 0
        self._snapshot_started_at = time.monotonic()
        self._snapshot_child: tuple[int, str] | None = None  # (pid, stream id it covers)
        self._sending: asyncio.Future | None = None  # the flush being sent (see _serve)
        self._pending: Outgoing | None = None  # the flush that goes out with the next read
        # Flushes prepared whose landing was not seen yet, in order: sent again after a lost
        # connection (see _reconnect).
        self._unconfirmed: list[Outgoing] = []
        self._trim_to: str | None = None  # a trim for the next flush
        self._lag_ms = 0  # how old the last applied command was, while a backlog is applied
        self._last_beat = 0.0
        self.publisher: Publisher | None = None  # run()'s
        # PRIVATE_SUBSCRIBERS_VERSION_KEY as last read; b"": read the accounts at the next read.
        self._listeners_version: bytes = b""

    # --- recovery ------------------------------------------------------------------------

    def load_snapshot(self) -> snapshots.SnapshotData | None:
        data = snapshots.load_newest(self.snapshot_dir)
        if data is None:
            log.info("no snapshot in %s", self.snapshot_dir)
            return None
        self.engine = Engine.restore(data.core)
        freeze_survivors(full=True)  # the restored resting orders: see GC_FULL_EVERY_S
        self.tickers = {s: RollingTicker.from_state(t) for s, t in data.extras.get("tickers", {}).items()}
        self.last_id = data.stream_id
        self.metrics.snapshot_at_ms = data.written_at_ms
        log.info("restored snapshot at stream id %s (seq %s)", self.last_id, self.engine.last_seq)
        return data

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
            self.metrics.observe("Malformed", True, 0.0)
            if reply_to:
                publisher.replies.append((reply_to, [_malformed(str(exc))]))
            return
        try:
            started = perf_counter()
            events = self.engine.apply(command)
            elapsed = perf_counter() - started
            # A cancel-all with nothing to cancel has no event at all.
            self.metrics.observe(
                type(command).__name__, bool(events) and type(events[0]) is Rejected, elapsed
            )
        except Exception:
            log.exception("engine failed on command %s: %r", entry_id.decode(), command)
            if reply_to:
                publisher.replies.append((reply_to, [_malformed("internal engine error")]))
            return
        publisher.collect(events, reply_to)

    async def run(self) -> None:
        """Write the whole state into the market-data cache, then serve until asked to stop."""
        publisher = Publisher(
            self.engine,
            self.redis,
            self.channel_layer,
            self.lease,
            self.send_persist_task,
            self.tickers,
            applied_through=self.last_id,
            outbox=self.outbox,
        )
        self.publisher = publisher
        self._listeners_version = b""  # a new publisher knows no private subscriber yet
        # Every append is counted: the entries applied are those counted but the ones after
        # the state's last (the replay's backlog).
        appended, after = await asyncio.gather(
            self.redis.get(APPENDED_KEY), self.redis.eval(COUNT_AFTER_SCRIPT, 1, COMMAND_STREAM, self.last_id)
        )
        self.metrics.applied = max(0, int(appended or 0) - after)
        stale, recent = await self._stale_cache_keys()
        for outgoing in publisher.full_state(stale, recent):
            await self._send(self._prepared(outgoing))
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
        # Everything to persistence, with a checkpoint at the snapshot's point, then the
        # snapshot; the engine says it is gone and gives its lease up.
        last = self._prepared(publisher.prepare(None, persist_now=True))
        last.commands.call("DEL", STATUS_KEY, ACCEPTING_KEY)
        try:
            await self._send(last)
        except Exception as exc:
            # Without the hand-off the snapshot must not cover these events: replay re-emits them.
            log.error("could not send the last flush (%s); no final snapshot", exc)
            return
        if self._snapshot_child is not None:  # let the one being written finish first
            await asyncio.to_thread(os.waitpid, self._snapshot_child[0], 0)
            self._snapshot_child = None
        self.write_snapshot()
        try:
            await self.redis.eval(lease.RELEASE_SCRIPT, 1, lease.LEASE_KEY, self.lease.token)
        except Exception:  # Redis may be stopping with us (make run's Ctrl-C); the lease expires
            pass

    async def _stale_cache_keys(self) -> tuple[list[str], list[str]]:
        """Keys of the market-data cache that the state does not cover: accounts it does not
        know, and recent trades newer than its books' (both only after a state rebuilt without
        the commands that wrote them); and the accounts' recent histories, which may hold
        events newer than the state (``Publisher.full_state`` cuts those off)."""
        known = set(self.engine.accounts())
        stale, recent = [], []
        patterns = (
            md_cache.balances_key("*"),  # type: ignore[arg-type]
            md_cache.open_orders_key("*"),  # type: ignore[arg-type]
            md_cache.recent_orders_key("*"),  # type: ignore[arg-type]
            md_cache.recent_fills_key("*"),  # type: ignore[arg-type]
        )
        for pattern in patterns:
            async for raw in self.redis.scan_iter(match=pattern, count=1000):
                key = raw.decode()
                account = key.rsplit(":", 1)[1]
                if not account.isdigit() or int(account) not in known:
                    stale.append(key)
                elif key.startswith("md:recent_"):
                    recent.append(key)
        async for raw in self.redis.scan_iter(match=md_cache.trades_key("*"), count=1000):
            key = raw.decode()
            symbol = key.rsplit(":", 1)[1]
            newest = await self.redis.lindex(key, 0)
            if symbol not in self.engine.markets or (
                newest and jsonfast.loads(newest)["id"] > self.engine.last_trade_id(symbol)
            ):
                stale.append(key)
        return stale, recent

    async def _serve(self) -> None:
        """Read, apply and flush until asked to stop. The last flush may still be in flight or
        held for the next read (``_sent``)."""
        last_full_gc = time.monotonic()
        while not self.stopping.is_set():
            try:
                await self._iterate()
            except CONNECTION_ERRORS as exc:
                if self.stopping.is_set():
                    raise
                await self._reconnect(exc)
                continue
            now = time.monotonic()
            full = now - last_full_gc >= GC_FULL_EVERY_S
            if full:
                await self._sent()  # a full collection can take a second: not with replies held
                last_full_gc = now
            freeze_survivors(full)  # see GC_FULL_EVERY_S

    async def _iterate(self) -> None:
        # With a backlog, the previous flush is still being sent while the next batch is read
        # and applied: Redis executing one flush and the engine applying the next overlap
        # instead of taking turns (+15-20 % commands/s in bench/engine_pipeline.py). Caught up,
        # the flush goes out in the same write as the next read, in front of it: one round trip
        # per iteration instead of two, and the flush's time still gathers the next commands
        # into one batch (reading at once would apply them one or two at a time and pay every
        # flush's fixed cost for each: p50 at 5,000/s 3.7 ms against 2.7). At most one flush is
        # in flight, so flushes (and replies) go out in order.
        publisher = self.publisher
        response, listening = await self._read()
        backlog = False
        for _stream, entries in response:
            backlog = len(entries) >= READ_COUNT
            for entry_id, fields in entries:
                self.apply_entry(publisher, entry_id, fields)
            if entries:
                self.last_id = entries[-1][0].decode()
                self._commands_since_snapshot += len(entries)
                self.metrics.applied += len(entries)
        self._lag_ms = max(0, _wall_ms() - stream_ts(self.last_id)) if backlog else 0
        publisher.applied_through = self.last_id
        outgoing = self._prepared(publisher.prepare(listening))
        await self._sent()  # raises what sending it raised
        if backlog:
            self._sending = asyncio.ensure_future(self._send(outgoing))
        elif outgoing.frames:
            # Frames for group_send go once the script has landed: held, they would wait for
            # the read behind it (up to READ_BLOCK_MS).
            await self._send(outgoing)
        else:
            self._pending = outgoing
        await self._reap_snapshot_child()
        if self._snapshot_due(time.monotonic()):
            # A snapshot must not cover a batch whose flush could still fail: a restart replays
            # only what follows it. Its point is a persistence checkpoint.
            await self._sent()
            await self._send(self._prepared(publisher.prepare(None, persist_now=True)))
            self._fork_snapshot()

    def _prepared(self, outgoing: Outgoing) -> Outgoing:
        """A flush just prepared, with what is due besides (the heartbeat, a trim)."""
        batch = outgoing.commands
        now = time.monotonic()
        if now - self._last_beat >= self.lease.ttl_ms / 5000:
            self._last_beat = now
            self._heartbeat(batch)
            # The accounts are read again whatever their version says: a change made without
            # a new version (a web process of an older release during a deploy, a hand edit)
            # is seen within a heartbeat instead of at the next join or leave.
            self._listeners_version = b""
        if self._trim_to is not None:
            batch.trim(COMMAND_STREAM, LOG_KEY, self._trim_to)
            self._trim_to = None
        self._unconfirmed.append(outgoing)
        return outgoing

    async def _send(self, outgoing: Outgoing, then=()) -> list:
        replies = await self.publisher.send(outgoing, then)
        self._unconfirmed.remove(outgoing)
        return replies

    async def _read(self) -> tuple[list, list[bytes] | None]:
        """The next batch of commands after the last applied one, as Redis sends them (``[[stream,
        [[id, [field, value, ...]], ...]]]``: the engine reads each entry's two fields itself),
        and the accounts with a private subscriber as of right after it (``Publisher.prepare``;
        None when they did not change since the last read), in one round trip: Redis runs the
        script once the XREAD has returned, even one that blocked. A flush held for this read
        goes in front of it, in the same write.

        A read changes nothing in Redis: an engine fenced out by its lease, which may still read
        before its next flush is refused, takes nothing away from the engine that holds it."""
        read = [
            ("XREAD", "COUNT", READ_COUNT, "BLOCK", READ_BLOCK_MS, "STREAMS", COMMAND_STREAM, self.last_id),
            ("EVAL", LISTENERS_SCRIPT, 2, PRIVATE_SUBSCRIBERS_KEY, PRIVATE_SUBSCRIBERS_VERSION_KEY,
             self._listeners_version),
        ]  # fmt: skip
        pending, self._pending = self._pending, None
        if pending is None:
            response, listeners = await self.link.exchange(read)
        else:
            response, listeners = await self._send(pending, then=read)
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
            await self._send(pending)

    async def _reconnect(self, exc: BaseException) -> None:
        """Redis went away: wait for it with backoff, keeping the state, then send again every
        flush whose landing was not seen (under the lease rules: fenced out, the engine stops)."""
        log.error("lost Redis (%s); reconnecting", exc)
        # Every connection of the pool may be a dead one: all are made anew.
        await self.redis.connection_pool.disconnect()
        sending, self._sending, self._pending = self._sending, None, None
        if sending is not None:
            try:
                await sending
            except Exception:
                pass
        delay = 0.05
        while True:
            try:
                await self.redis.ping()
                for outgoing in list(self._unconfirmed):
                    await self._send(outgoing)
                await asyncio.to_thread(self.requeue_outbox)
                break
            except CONNECTION_ERRORS:
                if self.stopping.is_set():
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_S)
        self._listeners_version = b""
        log.warning("reconnected to Redis; going on after stream id %s", self.last_id)

    def _heartbeat(self, batch: redis_batch.CommandBatch) -> None:
        """The status (and, while the engine keeps up, the web's permission to append), written
        with the flush's other writes, under the lease."""
        ttl_ms = max(int(STATUS_TTL_S * 1000), 3 * self.lease.ttl_ms // 5)
        status = {
            "token": self.lease.token,
            "pid": os.getpid(),
            "stream_id": self.last_id,
            "seq": self.engine.last_seq,
            "lag_ms": self._lag_ms,
            "at_ms": _wall_ms(),
        }
        batch.call("SET", STATUS_KEY, json.dumps(status), "PX", ttl_ms)
        self.metrics.seq = self.engine.last_seq
        batch.call("SET", ENGINE_METRICS_KEY, json.dumps(self.metrics.state()))
        if self._lag_ms <= self.max_lag_ms:
            batch.call("SET", ACCEPTING_KEY, self.lease.token, "PX", ttl_ms)
        else:
            batch.call("DEL", ACCEPTING_KEY)

    # --- snapshots ---------------------------------------------------------------------

    def _snapshot_data(self) -> snapshots.SnapshotData:
        return snapshots.SnapshotData(
            stream_id=self.last_id,
            core=self.engine.snapshot(),
            extras={"tickers": {s: t.to_state() for s, t in self.tickers.items()}},
            log_id=self.log_id,
        )

    def write_snapshot(self) -> Path:
        path = snapshots.write(self.snapshot_dir, self._snapshot_data())
        self.metrics.snapshot_at_ms = _wall_ms()
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
        if os.waitstatus_to_exitcode(status) != 0:
            log.error("snapshot child %s failed; the command log is not trimmed", pid)
            return
        self.metrics.snapshot_at_ms = _wall_ms()
        # The log is trimmed only up to the oldest snapshot kept (any of them can be fallen back
        # to) and to the oldest batch persistence has not written (the database can be brought
        # up to date from the log: ``rebuild_engine_state``).
        floors = [snapshots.oldest_kept(self.snapshot_dir) or stream_id]
        outbox = await asyncio.to_thread(self.outbox_floor)
        if outbox is not None:
            floors.append(outbox)
        self._trim_to = min(floors, key=stream_key)
        log.info(
            "snapshot at %s written by child %s; the next flush trims the log to %s",
            stream_id,
            pid,
            self._trim_to,
        )

    def install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


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
