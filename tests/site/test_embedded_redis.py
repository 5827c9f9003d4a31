"""The embedded Redis (``manage.py run_redis``) keeps every write it acknowledged, and stops after
the processes that use it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def embedded_redis(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(EMBEDDED_REDIS_PORT=str(port), VAR_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_redis"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, "run_redis did not start"
            time.sleep(0.05)
    yield proc, client
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_stop_waits_for_the_connected_processes_then_exits_cleanly(embedded_redis):
    proc, engine = embedded_redis  # a client still connected, as the engine finishing its last flush

    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)

    assert engine.set("last-flush", "sent") is True  # still served after the stop was asked
    engine.close()  # the last user leaves
    assert proc.wait(5) == 0


def test_a_stop_with_nobody_connected_is_prompt(embedded_redis):
    proc, client = embedded_redis
    client.close()
    started = time.monotonic()

    proc.send_signal(signal.SIGTERM)

    assert proc.wait(5) == 0
    assert time.monotonic() - started < 1.5


def test_every_write_is_fsynced_to_the_append_only_file_and_nothing_is_evicted(embedded_redis):
    _proc, client = embedded_redis

    settings = {**client.config_get("appendonly"), **client.config_get("appendfsync")}
    settings.update(client.config_get("maxmemory-policy"))

    assert settings == {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}


def test_the_engine_preflight_accepts_it(embedded_redis, db):
    from tests.conftest import database_url_for_subprocesses

    _proc, client = embedded_redis
    port = client.connection_pool.connection_kwargs["port"]
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "DATABASE_URL": database_url_for_subprocesses(),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "preflight", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stderr) == (0, "")
