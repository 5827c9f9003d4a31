"""Startup checks that turn bad configuration into one clear line instead of a traceback."""

from __future__ import annotations

import socket
import sys
import time

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError


class PreflightError(Exception):
    pass


def _safe_url(url: str) -> str:
    # Never print a password from a URL.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def check_database() -> None:
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PreflightError(
            f"database unreachable ({settings.DATABASES['default']['ENGINE']}): {first}"
        ) from None


def check_migrated() -> None:
    """The schema is current: a process started before ``migrate`` would fail on its first query,
    with a traceback far from the cause."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise PreflightError(
            f"the database lacks {len(pending)} migration(s): run `python manage.py migrate` first"
        )


def check_redis(wait_s: float = 0.0) -> None:
    """Ping Redis, retrying for ``wait_s`` seconds (processes may start before the embedded one)."""
    deadline = time.monotonic() + wait_s
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    while True:
        try:
            client.ping()
            return
        except redis.RedisError as exc:
            if time.monotonic() >= deadline:
                raise PreflightError(f"Redis unreachable at {_safe_url(settings.REDIS_URL)}: {exc}") from None
            time.sleep(0.2)
        finally:
            client.close()


# What a Redis holding the command log must be set to, and why: a command is acknowledged once
# Redis has it, so it must be on disk by then and never evicted.
DURABLE_REDIS = {
    "appendonly": ("yes", "without the append-only file a restart loses the command log"),
    "appendfsync": ("always", "anything else acknowledges commands that a power cut can still lose"),
    "maxmemory-policy": ("noeviction", "any other policy may evict the command log when memory runs out"),
}


def check_redis_durable() -> None:
    """The Redis of ``REDIS_URL`` keeps what it acknowledged (``DURABLE_REDIS``), unless
    ``REDIS_ACCEPT_DATA_LOSS`` says the risk is accepted."""
    if settings.REDIS_ACCEPT_DATA_LOSS:
        return
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    override = "set REDIS_ACCEPT_DATA_LOSS=true to run on it anyway"
    try:
        values = {}
        for name in DURABLE_REDIS:
            values.update(
                {k.decode() if isinstance(k, bytes) else k: v for k, v in client.config_get(name).items()}
            )
    except redis.RedisError as exc:
        raise PreflightError(
            f"cannot read the persistence settings of Redis at {_safe_url(settings.REDIS_URL)} ({exc});"
            f" it must run with appendonly yes, appendfsync always, maxmemory-policy noeviction: {override}"
        ) from None
    finally:
        client.close()
    for name, (wanted, why) in DURABLE_REDIS.items():
        value = values.get(name)
        value = value.decode() if isinstance(value, bytes) else value
        if value != wanted:
            where = _safe_url(settings.REDIS_URL)
            raise PreflightError(f"Redis at {where} has {name} {value}, not {wanted}: {why}; {override}")


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PreflightError(
                f"port {port} on {host} is already in use (set PORT to another one)"
            ) from None


def run_or_exit(*checks) -> None:
    """Run the checks; on the first failure print one line to stderr and exit 2."""
    for check in checks:
        try:
            check()
        except PreflightError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
