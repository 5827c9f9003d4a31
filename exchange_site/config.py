"""Configuration from the environment, with working defaults for a laptop.

Only this module reads ``os.environ`` for the project's own settings, so every process
(web, engine, worker, management commands) resolves the same values the same way.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

# The private Redis that ``make run`` starts when REDIS_URL is unset listens here.
EMBEDDED_REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "6391"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# The embedded Redis's users (``run_redis``): the exchange's processes, and one that may only
# subscribe to the public market-data channels (for programs in any language). The default
# user is off: nobody reaches the command log without a password.
EXCHANGE_USER = "exchange"
SUBSCRIBER_USER = "subscriber"
PUBLIC_CHANNELS = ("trade.*", "depth.*", "ticker.*", "bookTicker.*", "kline.*")


def redis_passwords(var_dir: Path | None = None) -> dict[str, str]:
    """The embedded Redis users' passwords, generated once into ``<VAR_DIR>/redis/passwords.json``
    (readable by its owner only)."""
    path = (var_dir or VAR_DIR) / "redis" / "passwords.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        made = {user: secrets.token_urlsafe(24) for user in (EXCHANGE_USER, SUBSCRIBER_USER)}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made them first
            return json.loads(path.read_text())
        with os.fdopen(fd, "w") as fh:
            json.dump(made, fh)
        return made


def embedded_redis_url(
    user: str = EXCHANGE_USER, var_dir: Path | None = None, port: int | None = None
) -> str:
    password = redis_passwords(var_dir)[user]
    return f"redis://{user}:{password}@127.0.0.1:{port or EMBEDDED_REDIS_PORT}/0"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or embedded_redis_url()


def redis_is_embedded() -> bool:
    return not os.environ.get("REDIS_URL")


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'exchange.sqlite3'}"


def secret_key() -> str:
    """SECRET_KEY, or a development key generated once and kept under var/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        return key
