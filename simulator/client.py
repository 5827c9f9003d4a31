"""A small signed REST client of the exchange, as any outside client would write one.

Every request carries the four headers of shared/API.md (``accounts.signing.signed_headers``).
The client keeps to a request budget of its own, well inside the server's rate limits, and
handles what a well-behaved client must:

* ``429 TOO_MANY_REQUESTS``: waits ``Retry-After`` and sends again;
* ``503`` (``MAINTENANCE`` while the engine is down or starting, or Redis unreachable): nothing
  was executed, so it waits and sends again, for as long as it takes;
* the web server unreachable (not started yet, restarting): waits with backoff and sends again;
* ``504`` (status unknown) and every other error: raised as ``ApiError`` for the caller, which
  never blindly sends an order twice (the bots look their orders up again instead).

Blocking (``http.client``, one keep-alive connection): a bot does one thing at a time.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from accounts.signing import signed_headers

log = logging.getLogger("simulator")

# (method, path) -> the instruction the server checks the signature against (shared/API.md).
INSTRUCTIONS = {
    ("GET", "/api/v1/capital"): "balanceQuery",
    ("GET", "/api/v1/order"): "orderQuery",
    ("POST", "/api/v1/order"): "orderExecute",
    ("DELETE", "/api/v1/order"): "orderCancel",
    ("GET", "/api/v1/orders"): "orderQueryAll",
    ("POST", "/api/v1/orders"): "orderExecute",
    ("DELETE", "/api/v1/orders"): "orderCancelAll",
}


class ApiError(Exception):
    """An error answer of the API (``{"code", "message"}``), or no answer at all."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Stopped(Exception):
    """The simulator is stopping: a wait was cut short."""


@dataclass
class RequestBudget:
    """A token bucket: at most ``rate`` requests a second on average, ``burst`` at once.

    The server allows 1,200 requests per 10 s per key; a bot spends a few a second."""

    rate: float = 8.0
    burst: float = 16.0
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = self.clock()

    def wait_time(self) -> float:
        """Seconds until a request may go (0: now), taking its token when it may."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class Stats:
    requests: int = 0
    rate_limited: int = 0  # 429 answers
    unavailable: int = 0  # 503 answers
    unreachable: int = 0  # no answer (connection refused, reset, timeout)


class Client:
    """``request(method, path, params)``: the decoded JSON answer, or ``ApiError``.

    ``params`` is the query string of a GET and the JSON body of a POST or DELETE (a list for
    the batch endpoint). ``secret`` is the API key's secret; ``None`` for public endpoints."""

    def __init__(
        self,
        base_url: str,
        secret: str | None = None,
        budget: RequestBudget | None = None,
        stop: threading.Event | None = None,
        timeout: float = 10.0,
        name: str = "",
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.secret = secret
        self.budget = budget or RequestBudget()
        self.stop = stop or threading.Event()
        self.timeout = timeout
        self.name = name
        self.stats = Stats()
        self._conn: http.client.HTTPConnection | None = None
        self._waiting_since: float | None = None  # start of an outage being waited out

    # --- waiting ---------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(max(0.0, seconds)):
            raise Stopped()

    def _outage(self, what: str) -> None:
        """Say once that we wait, not at every retry."""
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
            log.info("%s%s; waiting and retrying", self._prefix(), what)

    def _recovered(self) -> None:
        if self._waiting_since is not None:
            waited = time.monotonic() - self._waiting_since
            self._waiting_since = None
            log.info("%sthe exchange answers again (after %.0f s)", self._prefix(), waited)

    def _prefix(self) -> str:
        return f"{self.name}: " if self.name else ""

    # --- HTTP ------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _send(self, method: str, path: str, params) -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept": "application/json"}
        url, body = path, None
        if method == "GET" and params:
            url = f"{path}?{urlencode(params)}"
        elif method != "GET" and params is not None:
            body = json.dumps(params, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if self.secret is not None:
            instruction = INSTRUCTIONS[(method, path)]
            now = int(time.time() * 1000)
            headers.update(signed_headers(self.secret, instruction, params or None, now))
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.close()  # a fresh connection next time
                # The server closes a keep-alive connection idle for a few seconds (uvicorn: 5 s)
                # between requests: the request never reached it, so once more on a new one.
                if not reused or attempt == 2:
                    raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def send_once(self, method: str, path: str, params: Mapping | Sequence | None = None) -> bool:
        """One try, no waiting (shutting down): True if the server answered 2xx."""
        try:
            status, _, _ = self._send(method, path, params)
        except (OSError, http.client.HTTPException):
            return False
        return 200 <= status < 300

    def request(self, method: str, path: str, params: Mapping | Sequence | None = None):
        backoff = 0.5
        while True:
            wait = self.budget.wait_time()
            if wait:
                self.sleep(wait)
                continue
            if self.stop.is_set():
                raise Stopped()
            self.stats.requests += 1
            try:
                status, headers, raw = self._send(method, path, params)
            except (OSError, http.client.HTTPException) as exc:
                self.stats.unreachable += 1
                self._outage(f"the web server at {self.host}:{self.port} does not answer ({exc})")
                self.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = None
            is_error = isinstance(data, dict) and "code" in data
            if status == 429:
                self.stats.rate_limited += 1
                retry = _retry_after(headers, 1.0)
                log.warning("%s: rate limited (429); waiting %.1f s", self.name or "simulator", retry)
                self.sleep(retry)
                continue
            if status == 503:
                self.stats.unavailable += 1
                code = data.get("code") if is_error else "UNAVAILABLE"
                self._outage(f"the exchange answers 503 {code} (engine down or starting)")
                self.sleep(_retry_after(headers, 1.0))
                continue
            self._recovered()
            if status >= 400 or is_error:
                code = data.get("code", f"HTTP_{status}") if is_error else f"HTTP_{status}"
                message = data.get("message", "") if is_error else raw[:200].decode(errors="replace")
                raise ApiError(status, code, message)
            return data


def _retry_after(headers: Mapping[str, str], default: float) -> float:
    try:
        return max(0.2, min(float(headers.get("retry-after", default)), 60.0))
    except ValueError:
        return default
