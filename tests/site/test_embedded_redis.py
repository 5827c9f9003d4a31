"""The embedded Redis (``manage.py run_redis``) keeps every write it acknowledged, lets nobody in
without a password (the exchange's processes have one, programs subscribing to market data
another, that may do nothing else), and stops after the processes that use it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from exchange_site import config
from tests.conftest import ROOT, free_port, run_manage, wait_until


@pytest.fixture
def embedded_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(EMBEDDED_REDIS_PORT=str(free_port()), VAR_DIR=str(tmp_path))
    return env


def url(env: dict, user: str = config.EXCHANGE_USER) -> str:
    return config.embedded_redis_url(user, var_dir=Path(env["VAR_DIR"]), port=int(env["EMBEDDED_REDIS_PORT"]))


@pytest.fixture
def embedded_redis(embedded_env):
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_redis"], cwd=ROOT, env=embedded_env, stdout=subprocess.DEVNULL
    )
    client = redis.Redis.from_url(url(embedded_env), socket_timeout=2)

    def answers() -> bool:
        assert proc.poll() is None, "run_redis exited"
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    wait_until(answers, 30, "run_redis to answer")
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


def test_the_engine_preflight_accepts_it_as_a_redis_of_ones_own(embedded_redis, embedded_env, db):
    from tests.conftest import database_url_for_subprocesses

    result = run_manage(
        "preflight",
        "--port",
        str(free_port()),
        REDIS_URL=url(embedded_env),
        DATABASE_URL=database_url_for_subprocesses(),
    )

    assert (result.returncode, result.stderr) == (0, ""), result.stderr


def test_an_anonymous_client_is_refused(embedded_redis, embedded_env):
    anonymous = redis.Redis(host="127.0.0.1", port=int(embedded_env["EMBEDDED_REDIS_PORT"]))

    with pytest.raises(redis.AuthenticationError, match="Authentication required"):
        anonymous.xadd("engine.commands", {"cmd": "{}"})


def test_the_subscriber_may_not_append_a_command(embedded_redis, embedded_env):
    subscriber = redis.Redis.from_url(url(embedded_env, config.SUBSCRIBER_USER))

    with pytest.raises(redis.exceptions.NoPermissionError, match="xadd"):
        subscriber.xadd("engine.commands", {"cmd": "{}"})
    with pytest.raises(redis.exceptions.NoPermissionError):
        subscriber.get("md:balances:1")


def test_the_subscriber_receives_trades_and_nothing_private(embedded_redis, embedded_env):
    _proc, exchange = embedded_redis
    subscriber = redis.Redis.from_url(url(embedded_env, config.SUBSCRIBER_USER)).pubsub()
    subscriber.subscribe("trade.SOL_USDC")
    assert subscriber.get_message(timeout=2)["type"] == "subscribe"

    exchange.publish("trade.SOL_USDC", '{"e":"trade","t":1}')

    assert subscriber.get_message(timeout=2)["data"] == b'{"e":"trade","t":1}'
    subscriber.subscribe("account.orderUpdate.1")
    with pytest.raises(redis.exceptions.NoPermissionError, match="channels"):
        subscriber.get_message(timeout=2)


def test_the_subscriber_url_is_printed_for_programs_in_other_languages(embedded_redis, embedded_env):
    printed = run_manage("redis_subscriber_url", env=embedded_env)

    assert printed.stdout.strip() == url(embedded_env, config.SUBSCRIBER_USER)
    assert printed.stdout.startswith("redis://subscriber:")
