"""What the operators look at, read in one round trip from Redis: the engine's heartbeat and
figures, its lease, the persistence outbox, the last reconciliation (``exchange_state``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from contract.names import ACCEPTING_KEY, APPENDED_KEY, ENGINE_METRICS_KEY, STATUS_KEY
from engine import lease
from exchange_site.redis_client import get_redis
from history.outbox import outbox
from history.services import RECONCILE_RESULT_KEY


@dataclass
class ExchangeState:
    now_ms: int
    status: dict | None  # the engine's heartbeat; None: down
    metrics: dict | None  # its figures as of its last heartbeat
    lease_holder: str | None
    accepting: bool
    appended: int
    outbox: int  # persistence batches not yet written
    dead_letters: int
    written_seq: int
    reconciled: dict | None

    @property
    def engine_up(self) -> bool:
        return self.status is not None

    @property
    def backlog(self) -> int | None:
        """Commands appended and not applied yet."""
        if self.metrics is None:
            return None
        return max(0, self.appended - self.metrics["applied"])

    @property
    def snapshot_age_s(self) -> float | None:
        at = (self.metrics or {}).get("snapshot_at_ms")
        return None if at is None else max(0.0, (self.now_ms - at) / 1000)

    @property
    def persistence_lag(self) -> int | None:
        """Engine events not yet in the database, by seq."""
        if self.metrics is None:
            return None
        return max(0, self.metrics["seq"] - self.written_seq)

    @property
    def persisted(self) -> bool:
        """Everything the engine produced is in the database: no batch waiting and no lag. The lag
        alone can read 0 early: the engine's seq is its last heartbeat's, and with two worker
        processes a later batch can commit before an earlier one."""
        return self.outbox == 0 and self.persistence_lag == 0

    @property
    def reconciled_age_s(self) -> float | None:
        return None if self.reconciled is None else max(0.0, (self.now_ms - self.reconciled["at_ms"]) / 1000)


def _json(raw) -> dict | None:
    return json.loads(raw) if raw else None


def exchange_state() -> ExchangeState:
    box = outbox()
    pipe = get_redis().pipeline(transaction=False)
    pipe.get(STATUS_KEY).get(ENGINE_METRICS_KEY).get(lease.LEASE_KEY).exists(ACCEPTING_KEY)
    pipe.get(APPENDED_KEY).xlen(box.name).xlen(box.name + ".dead").get(box.written_seq_key)
    pipe.get(RECONCILE_RESULT_KEY)
    status, metrics, holder, accepting, appended, pending, dead, written, reconciled = pipe.execute()
    return ExchangeState(
        now_ms=time.time_ns() // 1_000_000,
        status=_json(status),
        metrics=_json(metrics),
        lease_holder=holder.decode() if holder else None,
        accepting=bool(accepting),
        appended=int(appended or 0),
        outbox=pending,
        dead_letters=dead,
        written_seq=int(written or 0),
        reconciled=_json(reconciled),
    )
