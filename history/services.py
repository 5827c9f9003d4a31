"""What an operator does with the engine's state in the database: rebuild the engine's state
from it (``rebuild_engine_state``), and check the engine against it (``reconcile``)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from contract.names import COMMAND_STREAM
from engine import commandlog, lease, snapshots
from engine.core import Engine
from exchange_site.redis_client import get_redis

from . import state
from .models import Fill, LedgerEntry, Order, Trade, Transfer
from .outbox import outbox

log = logging.getLogger(__name__)

RECONCILE_RESULT_KEY = "reconcile.last"


class RecoveryRefused(Exception):
    """The rebuild would not give a state the engine can trust; the message says why."""


@dataclass
class Rebuilt:
    position: state.Position
    path: Path
    accounts: int
    open_orders: int
    new_log: bool


def rebuild_engine_state(snapshot_dir: Path, new_log: bool = False, lease_ttl_s: float = 5.0) -> Rebuilt:
    """Write the engine's state at the database's newest checkpoint as the snapshot the engine
    starts from; the engine then replays the command log from there. ``new_log``: Redis lost the
    log the database's checkpoint belongs to; start a new one (whatever was appended after the
    checkpoint and not persisted is gone)."""
    client = get_redis()
    try:
        held = lease.acquire(client, lease_ttl_s)
    except lease.LeaseHeld as exc:
        raise RecoveryRefused(f"{exc}; stop the engine first") from None
    try:
        position = state.latest()
        if position is None:
            raise RecoveryRefused(
                "the database holds no engine checkpoint to rebuild from (a new exchange needs no rebuild)"
            )
        info = commandlog.read(client)
        if new_log:
            beyond = _events_beyond(position.seq)
            if beyond:
                raise RecoveryRefused(
                    f"the database holds events beyond its newest complete checkpoint (seq {position.seq}):"
                    f" {beyond}; a persistence batch before them is missing (see the outbox's dead letters,"
                    f" {outbox().name}.dead): requeue it before starting a new log"
                )
            _discard_log(client)
            info = commandlog.genesis(client, held, trimmed_to=position.stream_id)
        elif info is None:
            raise RecoveryRefused(
                "Redis holds no command log: the commands after the database's checkpoint are lost;"
                " start a new log with --new-log"
            )
        elif commandlog.stream_key(info.trimmed_to) > commandlog.stream_key(position.stream_id):
            raise RecoveryRefused(
                f"the command log was trimmed up to {info.trimmed_to}, past the database's newest checkpoint"
                f" ({position.stream_id}); start a new log with --new-log (the commands between are lost)"
            )
        data = state.snapshot_at(position, info.id)
        _set_aside(snapshot_dir)
        path = snapshots.write(snapshot_dir, data)
    finally:
        lease.release(client, held)
    engine = Engine.restore(data.core)
    return Rebuilt(position, path, len(engine.accounts()), len(engine.all_open_orders()), new_log)


def _events_beyond(seq: int) -> str:
    counts = {
        "orders": Order.objects.filter(last_seq__gt=seq).count(),
        "fills": Fill.objects.filter(seq__gt=seq).count(),
        "trades": Trade.objects.filter(seq__gt=seq).count(),
        "ledger entries": LedgerEntry.objects.filter(seq__gt=seq).count(),
        "transfers": Transfer.objects.filter(seq__gt=seq).count(),
    }
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n)


def _discard_log(client) -> None:
    """The old log and what only it could have written: its batches not yet persisted."""
    name = outbox().name
    keys = [COMMAND_STREAM, commandlog.LOG_KEY, name, name + ".dead"]
    keys += [k.decode() for k in client.scan_iter(match=f"{name}:*", count=1000)]
    keys += [k.decode() for k in client.scan_iter(match=f"{name}.dead:*", count=1000)]
    client.delete(*keys)


def _set_aside(snapshot_dir: Path) -> None:
    """Move the snapshots there are (of another log, or older than the database) out of the
    engine's way, kept for whoever wants to look at them."""
    files = list(snapshot_dir.glob("snapshot-*.bin")) if snapshot_dir.exists() else []
    if not files:
        return
    aside = snapshot_dir / f"replaced-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside.mkdir(parents=True, exist_ok=True)
    for path in files:
        path.rename(aside / path.name)


@dataclass
class Reconciled:
    compared: bool
    position: state.Position | None = None
    snapshot: str | None = None
    differences: list[str] = field(default_factory=list)
    note: str = ""

    def summary(self) -> str:
        if not self.compared:
            return f"not compared: {self.note}"
        where = f"at seq {self.position.seq} (stream id {self.position.stream_id}, {self.snapshot})"
        if self.differences:
            return f"{len(self.differences)} difference(s) between the engine and the database {where}"
        return f"the engine and the database agree {where}"


def reconcile(snapshot_dir: Path, wait_s: float = 0.0) -> Reconciled:
    """Compare the newest snapshot the database has caught up with to the database's state at
    the same seq (waiting up to ``wait_s`` for it to catch up with the newest snapshot), and
    record the result in Redis (``RECONCILE_RESULT_KEY``)."""
    deadline = time.monotonic() + wait_s
    while True:
        result = _reconcile_once(snapshot_dir)
        if result.compared or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    _record(result)
    return result


def _reconcile_once(snapshot_dir: Path) -> Reconciled:
    by_seq = {p.seq: p for p in state.positions()}
    newest_db = max(by_seq, default=0)
    kept = []
    for path in reversed(sorted(snapshot_dir.glob("snapshot-*.bin")) if snapshot_dir.exists() else []):
        try:
            data = snapshots.decode(path.read_bytes())
        except (snapshots.CorruptSnapshot, ValueError, EOFError, KeyError) as exc:
            log.error("reconcile: skipping snapshot %s: %s", path.name, exc)
            continue
        seq = Engine.restore(data.core).last_seq
        kept.append(seq)
        position = by_seq.get(seq)
        if position is not None and position.stream_id == data.stream_id:
            return Reconciled(True, position, path.name, state.differences(data, position))
    if not kept:
        return Reconciled(False, note=f"no snapshot in {snapshot_dir}")
    return Reconciled(
        False,
        note=f"the database's history reaches seq {newest_db}; the snapshots kept are at seq"
        f" {', '.join(map(str, kept))} (persistence is behind, or a batch is missing)",
    )


def _record(result: Reconciled) -> None:
    try:
        get_redis().set(
            RECONCILE_RESULT_KEY,
            json.dumps(
                {
                    "at_ms": int(time.time() * 1000),
                    "compared": result.compared,
                    "seq": result.position.seq if result.position else None,
                    "differences": len(result.differences),
                    "summary": result.summary(),
                }
            ),
        )
    except Exception:  # the result is printed and logged either way
        log.warning("could not record the reconciliation's result", exc_info=True)
