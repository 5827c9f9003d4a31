"""Fixtures of the persistence tests: a market written straight to the database (no engine
needed to persist events), two traders, and real Celery worker subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from engine import persistence
from tests.conftest import database_url_for_subprocesses

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_directory():
    # Test databases reuse symbols with new ids; production never deletes a market.
    persistence.directory.clear()
    yield
    persistence.directory.clear()


def make_market(symbol: str = "SOL_USDC"):
    from markets.models import Asset, Market

    base_symbol, quote_symbol = symbol.split("_")
    decimals = {"SOL": 9, "BTC": 8, "USDC": 6}
    base, _ = Asset.objects.get_or_create(
        symbol=base_symbol, defaults={"display_name": base_symbol, "decimals": decimals[base_symbol]}
    )
    quote, _ = Asset.objects.get_or_create(
        symbol=quote_symbol, defaults={"display_name": quote_symbol, "decimals": decimals[quote_symbol]}
    )
    return Market.objects.create(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.01"),
        min_price=Decimal("0.01"),
        max_price=Decimal("1000000"),
        min_quantity=Decimal("0.01"),
        max_quantity=Decimal("1000000"),
    )


@pytest.fixture
def sol_usdc(db):
    return make_market("SOL_USDC")


@dataclass
class Traders:
    buyer: int
    seller: int


@pytest.fixture
def traders(db) -> Traders:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return Traders(
        # No password: hashing one costs a second, and these users never log in.
        buyer=User.objects.create(username="buyer").pk,
        seller=User.objects.create(username="seller").pk,
    )


# --- real Celery workers ---------------------------------------------------------------------





class Worker:
    """``celery worker`` as a subprocess on the test database and Redis, consuming ``queue``
    (the default queue, where the engine sends, unless told otherwise: a private queue keeps
    tasks of other test runs sharing the Redis away). The broker's visibility timeout is short
    (``tests.persistence.worker_app``) so that a killed worker's unacknowledged batches come
    back within seconds instead of an hour."""

    VISIBILITY_TIMEOUT_S = 2

    def __init__(self, log_dir: Path, pool: str = "solo", queue: str = "celery"):
        self.log_dir = log_dir
        self.pool = pool
        self.queue = queue
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_VISIBILITY_TIMEOUT_S": str(self.VISIBILITY_TIMEOUT_S),
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"worker-{self.starts}.log"

    def start(self, timeout: float = 30) -> None:
        self.starts += 1
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "tests.persistence.worker_app", "worker"),
                *("--pool", self.pool, "--concurrency", "1", "--queues", self.queue, "--loglevel", "INFO"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"ready." in self.log_path.read_bytes():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker did not start; log:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the worker and its pool children: no cleanup, no acknowledgement."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return "\n".join(
            (self.log_dir / f"worker-{i}.log").read_text()[-4000:] for i in range(1, self.starts + 1)
        )


@pytest.fixture
def celery_worker_proc(transactional_db, redis_conn, tmp_path):
    """A stopped worker on an emptied Redis, on a queue of its own: the test starts (and kills,
    and restarts) it and sends with ``send_batch(events, worker.queue)``."""
    worker = Worker(tmp_path, queue=f"persist-test-{uuid.uuid4().hex[:12]}")
    yield worker
    worker.stop()


def send_batch(events: list[dict], queue: str | None = None) -> None:
    """What the engine process does with a batch (``run_engine``'s ``send_persist_batch``)."""
    from exchange_site.celery import app

    app.send_task("persistence.persist_events", args=[events], queue=queue)


def wait_until(predicate, timeout: float, what: str, worker: Worker | None = None, pause: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(pause)
    detail = f"\nworker log:\n{worker.log()}" if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
