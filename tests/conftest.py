"""Shared fixtures and helpers: the real engine process (a subprocess against the real Redis and
the test database), real Celery workers (``Worker``), real web servers (``web_server``,
``start_web_server``), demo markets, funded users, markets written straight to the database
(``make_market``), and ``wait_until``, the one way a test waits for a condition. Integration
tests use these; the pure engine tests in tests/engine_core need none of them."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings

if TYPE_CHECKING:
    from markets.models import Asset, Market

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    predicate, timeout: float, what: str, logs: Callable[[], str] | None = None, pause: float = 0.05
):
    """``predicate()``'s first true value within ``timeout`` seconds; else an AssertionError
    naming ``what``, with ``logs()`` (the log tails of the processes involved)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"\n{logs()}" if logs is not None else ""
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}{detail}")
        time.sleep(pause)


def database_url_for_subprocesses() -> str:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{s['NAME']}"
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a process of the exchange started by a test: the test database and
    Redis, and ``extra``."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocesses(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    # Set in this process only for Playwright's sake (tests/ui); servers keep Django's check.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def run_manage(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90, **overrides: str
) -> subprocess.CompletedProcess:
    """``manage.py <args>`` run to its end in ``env`` (by default this process's environment)
    with ``overrides`` set, its output captured as text."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**(os.environ if env is None else env), **overrides},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stop_process(proc: subprocess.Popen | None) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 15 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@dataclass
class WebServer:
    """``manage.py run_web`` (uvicorn: HTTP, static files and the websocket on one port), with
    ``env_extra`` in its environment."""

    log_path: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> None:
        own = {"PORT": str(self.port), "HOST": "127.0.0.1", "DEBUG": "true", "WEB_WORKERS": str(self.workers)}
        env = subprocess_env(**{**own, **self.env_extra})
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "run_web"], cwd=ROOT, env=env, stdout=log, stderr=log
            )

        def answers() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the web server exited with {self.proc.returncode}; log:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/ping", timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        try:
            wait_until(answers, timeout, "the web server to answer /api/v1/ping", self.log, pause=0.2)
        except AssertionError:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@pytest.fixture
def start_web_server(transactional_db, tmp_path) -> Iterator[Callable[..., WebServer]]:
    """``start_web_server(workers=2, SETTING="value")``: a running web server on the test database
    and Redis, with those settings in its environment; stopped after the test."""
    servers: list[WebServer] = []

    def start(workers: int = 1, **env_extra: str) -> WebServer:
        server = WebServer(tmp_path / f"web-{len(servers) + 1}.log", env_extra, workers)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def web_server(demo_markets, redis_conn, start_web_server) -> WebServer:
    """A real web server on the test database and Redis, serving the demo markets."""
    return start_web_server()


@pytest.fixture(autouse=True)
def _fresh_persistence_directory():
    """Persistence keeps market ids for good (production never deletes a market); test databases
    make the same symbols again with new ids."""
    from history import persistence

    persistence.directory.clear()
    yield
    persistence.directory.clear()


@pytest.fixture
def gc_state_restored():
    """For tests that freeze objects or pause the collector in the test process (the engine
    loop, the served web application): unfrozen and as it was afterwards."""
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def take_lease():
    """The engine lease on the test Redis, taken from whoever holds it, for tests that run an
    engine's flushes in process."""
    from engine import lease
    from exchange_site.redis_client import get_redis

    get_redis().delete(lease.LEASE_KEY)
    return lease.acquire(get_redis(), ttl_s=5)


@pytest.fixture
def redis_conn():
    """The test Redis, emptied: every test starts with no command log and no cache."""
    from exchange_site.redis_client import get_redis

    conn = get_redis()
    conn.flushdb()
    yield conn


class EngineRunner:
    """Starts, kills and restarts ``manage.py run_engine`` as a real subprocess."""

    def __init__(self, snapshot_dir: Path, env_extra: dict | None = None):
        self.snapshot_dir = snapshot_dir
        self.env = subprocess_env(
            ENGINE_SNAPSHOT_DIR=str(snapshot_dir),
            # The machine's test Redis keeps nothing on disk: accepted here, where nothing is
            # at stake (the fault tests run a durable Redis of their own).
            REDIS_ACCEPT_DATA_LOSS="true",
            # A killed engine's successor (the next start) waits for its lease no longer than this.
            ENGINE_LEASE_TTL_S="1",
            **(env_extra or {}),
        )
        self.proc: subprocess.Popen | None = None
        self.log_path = snapshot_dir / "engine.log"

    def start(self, timeout: float = 30) -> None:
        from engine.process import STATUS_KEY
        from exchange_site.redis_client import get_redis

        get_redis().delete(STATUS_KEY)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_engine"], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )

        def serving() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the engine exited with {self.proc.returncode}; log:\n{self.log()}")
            status = get_redis().get(STATUS_KEY)
            return bool(status) and json.loads(status)["pid"] == self.proc.pid

        wait_until(serving, timeout, "the engine to serve", self.log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """``kill -9``: no cleanup, no final snapshot."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(30)
        return self.proc.returncode if self.proc else 0


@pytest.fixture
def engine_runner(transactional_db, redis_conn, tmp_path):
    runner = EngineRunner(tmp_path / "engine")
    runner.snapshot_dir.mkdir()
    yield runner
    runner.kill()


@pytest.fixture
def engine_process(engine_runner, demo_markets):
    """A running engine that knows the demo markets."""
    engine_runner.start()
    yield engine_runner


def celery_worker_argv(queue: str = "celery") -> list[str]:
    """A Celery worker of the project (one solo process) consuming ``queue``. Its broker's
    visibility timeout is short (``tests.persistence.worker_app``, from
    ``CELERY_VISIBILITY_TIMEOUT_S``) so that a killed worker's unacknowledged batches come back
    within seconds instead of an hour."""
    return [
        *(sys.executable, "-m", "celery", "-A", "tests.persistence.worker_app", "worker"),
        *("--pool", "solo", "--concurrency", "1", "--queues", queue, "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]


class Worker:
    """``celery worker`` (``celery_worker_argv``) as a subprocess on the test database and Redis,
    consuming ``queue`` (the default queue, where the engine sends, unless told otherwise: a
    private queue keeps tasks of other test runs sharing the Redis away)."""

    VISIBILITY_TIMEOUT_S = 2

    def __init__(self, log_dir: Path, queue: str = "celery"):
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.queue = queue
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.env = subprocess_env(CELERY_VISIBILITY_TIMEOUT_S=str(self.VISIBILITY_TIMEOUT_S))

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"worker-{self.starts}.log"

    def start(self, timeout: float = 30) -> None:
        self.starts += 1
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            celery_worker_argv(self.queue),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the worker exited with {self.proc.returncode}; log:\n{self.log()}")
            return b"ready." in self.log_path.read_bytes()

        wait_until(ready, timeout, "the worker to be ready", self.log, pause=0.1)

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
def persistence_worker(transactional_db, redis_conn, tmp_path) -> Iterator[Worker]:
    """A persistence worker on the default queue, where the engine process sends its batches,
    not started yet: the test starts (and kills, and restarts) it."""
    worker = Worker(tmp_path / "worker")
    yield worker
    worker.stop()


@pytest.fixture
def engine_worker(engine_process, persistence_worker) -> Worker:
    """A running persistence worker on the default queue, where the engine process sends its tasks."""
    persistence_worker.start()
    return persistence_worker


def persistence_settled(conn, queue: str, history_counts: Callable[[], tuple]) -> Callable[[], bool]:
    """For ``wait_until``: whether the persistence outbox is empty (every batch the engine
    handed over is committed), the broker holds no task of ``queue`` (neither queued nor taken
    by a worker and not yet acknowledged: tasks acknowledge after their transaction committed),
    and ``history_counts()`` (of the history tables) is what it was at the previous look."""
    from history.outbox import outbox

    previous: list[tuple] = []

    def settled() -> bool:
        pending = conn.xlen(outbox().name) + conn.llen(queue) + conn.hlen("unacked")
        counts = history_counts()
        done = pending == 0 and previous == [counts]
        previous[:] = [counts] if pending == 0 else []
        return done

    return settled


@pytest.fixture
def demo_markets(transactional_db, redis_conn):
    """SOL, BTC, ETH, USDC and the three demo markets (maker 2 bps, taker 5 bps), as seed_demo makes them."""
    from exchange_site.management.commands.seed_demo import create_demo_markets

    return create_demo_markets()


@pytest.fixture
def admin_browser(django_user_model):
    """A browser (Django's test client) logged in as a superuser."""
    from django.test import Client

    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def make_user(transactional_db):
    from django.contrib.auth import get_user_model

    def make(username: str):
        return get_user_model().objects.create_user(username=username, password="pw-" + username)

    return make


@pytest.fixture
def fund(engine_process):
    """``fund(user, "USDC", "1000")``: a deposit through the running engine."""
    from engine.client import submit
    from engine.core import units
    from engine.core.messages import Deposit
    from markets.models import Asset

    def deposit(user, asset: str, amount: str) -> list[dict]:
        decimals = Asset.objects.get(symbol=asset).decimals
        events = submit(
            Deposit(
                ts=0,
                account=user.pk,
                asset=asset,
                amount=units.to_units(amount, decimals),
                tx_id=f"test-fund-{uuid.uuid4().hex}",
            )
        )
        assert events[0]["type"] == "Deposited", events
        return events

    return deposit


@pytest.fixture
def make_funded_user(make_user, fund):
    """``make_funded_user("carol", USDC="1000", SOL="5")``: a user with those deposits, made
    through the running engine."""

    def make(username: str, **amounts: str):
        user = make_user(username)
        for asset, amount in amounts.items():
            fund(user, asset, amount)
        return user

    return make


@pytest.fixture
def traders(make_funded_user) -> list:
    """Two users who make the market (``maker``, ``taker``), with 100,000 USDC and 1,000 SOL each."""
    return [make_funded_user(name, USDC="100000", SOL="1000") for name in ("maker", "taker")]


def place(user, side: str, price: int, quantity: int, market: str = "SOL_USDC", **extra) -> list[dict]:
    """A limit order straight into the running engine (engine integers: ticks and lots), as
    another client would place it; its events."""
    from engine.client import submit
    from engine.core.messages import PlaceOrder

    return submit(
        PlaceOrder(ts=0, account=user.pk, market=market, side=side, order_type="Limit", price=price,
                   quantity=quantity, **extra)
    )  # fmt: skip


def order_id(events: list[dict]) -> int:
    """The id of the order that ``events`` accepted."""
    return next(e["order_id"] for e in events if e["type"] == "OrderAccepted")


# --- reference data in the database only (no engine) ---------------------------------------------


def asset(symbol: str) -> Asset:
    """The asset as ``seed_demo`` makes it, made if missing."""
    from exchange_site.management.commands.seed_demo import ASSETS
    from markets.models import Asset

    name, decimals = next((name, dec) for sym, name, dec in ASSETS if sym == symbol)
    made, _ = Asset.objects.get_or_create(
        symbol=symbol, defaults={"display_name": name, "decimals": decimals}
    )
    return made


def make_market(symbol: str, base: Asset | None = None, quote: Asset | None = None, **overrides) -> Market:
    """A market in the database only, of ``base`` and ``quote`` (by default the assets its
    symbol names, made if missing): tick, step and minimum quantity 0.01, prices up to
    1,000,000, quantities up to 100,000, no minimum notional, no fees; ``overrides`` set any
    other field."""
    from markets.models import Market

    base_symbol, quote_symbol = symbol.split("_")
    fields = {
        "tick_size": Decimal("0.01"),
        "step_size": Decimal("0.01"),
        "min_price": Decimal("0.01"),
        "max_price": Decimal("1000000"),
        "min_quantity": Decimal("0.01"),
        "max_quantity": Decimal("100000"),
        "min_notional": Decimal("0"),
        **overrides,
    }
    return Market.objects.create(
        symbol=symbol, base=base or asset(base_symbol), quote=quote or asset(quote_symbol), **fields
    )


@pytest.fixture
def usdc(db) -> Asset:
    return asset("USDC")


@pytest.fixture
def sol(db) -> Asset:
    return asset("SOL")


@pytest.fixture
def btc(db) -> Asset:
    return asset("BTC")


@pytest.fixture
def sol_usdc(sol: Asset, usdc: Asset) -> Market:
    """SOL_USDC in the database only (no engine), as ``make_market`` makes it."""
    return make_market("SOL_USDC", sol, usdc)
