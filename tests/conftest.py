"""Shared fixtures: the real engine process (a subprocess against the real Redis and the test
database), real Celery workers (``Worker``), a real web server (``web_server``), demo markets,
and funded users. Integration tests
use these; the pure engine tests in tests/engine_core need none of them."""

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
from pathlib import Path

import pytest
from django.conf import settings

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
    """``manage.py run_web`` (uvicorn: HTTP, static files and the websocket on one port)."""

    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        env = subprocess_env(PORT=str(self.port), HOST="127.0.0.1", DEBUG="true", WEB_WORKERS="1")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "run_web"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/ping", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        stop_process(self.proc)
        raise RuntimeError(f"web server did not start; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@pytest.fixture
def web_server(demo_markets, redis_conn, tmp_path) -> Iterator[WebServer]:
    """A real web server on the test database and Redis, serving the demo markets."""
    server = WebServer(tmp_path / "web.log")
    server.start()
    yield server
    stop_process(server.proc)


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
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "REDIS_URL": settings.REDIS_URL,
            "ENGINE_SNAPSHOT_DIR": str(snapshot_dir),
            # The machine's test Redis keeps nothing on disk: accepted here, where nothing is
            # at stake (the fault tests run a durable Redis of their own).
            "REDIS_ACCEPT_DATA_LOSS": "true",
            # A killed engine's successor (the next start) waits for its lease no longer than this.
            "ENGINE_LEASE_TTL_S": "1",
            "PYTHONUNBUFFERED": "1",
            **(env_extra or {}),
        }
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = get_redis().get(STATUS_KEY)
            if status and json.loads(status)["pid"] == self.proc.pid:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"engine did not start; log:\n{self.log_path.read_text()[-3000:]}")

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
def engine_worker(engine_process, tmp_path):
    """A persistence worker on the default queue, where the engine process sends its tasks."""
    worker = Worker(tmp_path / "worker")
    worker.log_dir.mkdir()
    worker.start()
    yield worker
    worker.stop()


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
