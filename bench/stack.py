"""What the benchmarks that start a stack of their own (``order_load.py``, ``ws_fanout.py``)
share: they run it on this machine only, on a free port, and start measuring once its web server
listens."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

LOCAL_HOSTS = ("127.0.0.1", "localhost")


def require_local(url: str, what: str) -> None:
    host = urlsplit(url).hostname
    if host and host not in LOCAL_HOSTS:
        raise SystemExit(f"{what} must be on 127.0.0.1 (got {host})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, deadline: float, check_alive: Callable[[], None]) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` before ``deadline``
    (``time.monotonic()``); ``check_alive`` raises if a process the wait is for has exited."""
    while True:
        check_alive()
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
