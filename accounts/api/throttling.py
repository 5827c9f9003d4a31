"""Rate limits of the private API: per API key (or session user) and per client IP.

DRF's own throttles keep their history in the Django cache, which is per process here (several
web workers would each allow the full rate). These keep one fixed-window counter per identity in
Redis instead, shared by every worker: both counters of a request are counted in one pipelined
round trip. A refused request is answered 429 ``TOO_MANY_REQUESTS`` with ``Retry-After``
(``exchange_site.api_errors``). A request that fails authentication still counts against its IP
(``count_ip``), so a flood of bad signatures is limited too.

Rates come from ``settings.API_RATE_LIMITS`` (``{"key": "1200/10s", "ip": "30000/10s"}``) with
the defaults below; ``"N/Ps"``, ``"N/s"``, ``"N/m"`` and ``"N/h"`` are understood.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from exchange_site.redis_client import get_async_redis, get_redis

log = logging.getLogger(__name__)

# Generous enough for market makers and for the load benchmark (many keys from one host), low
# enough that one runaway client cannot starve the engine.
# "user" caps the keys of one user together: without it, every new key was a new allowance.
DEFAULT_RATES = {
    "key": "1200/10s",
    "user": "2400/10s",
    "ip": "30000/10s",
    "login_user": "10/60s",
    "login_ip": "60/60s",
}
_RATE = re.compile(r"(\d+)/(\d*)([smh])\Z")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/10s"`` -> (1200 requests, 10 seconds)."""
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"bad rate {rate!r}: expected like '100/10s' or '50/m'")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_S[unit]


def client_ip(request) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a header the client sets could dodge the limit. uvicorn
    # puts the X-Forwarded-For address there only for a connection from a trusted proxy
    # (FORWARDED_ALLOW_IPS, 127.0.0.1 unless set): behind such a proxy, the client's own.
    return request.META.get("REMOTE_ADDR") or "unknown"


def rate(scope: str) -> tuple[int, int]:
    rates = {**DEFAULT_RATES, **getattr(settings, "API_RATE_LIMITS", {})}
    return parse_rate(rates[scope])


@dataclass(frozen=True, slots=True)
class Counter:
    """One fixed-window counter of a request: its Redis key, its limit and its window."""

    key: str
    limit: int
    period: int
    window: int

    @property
    def ttl(self) -> int:
        return self.period + 1  # the key outlives its window by a second, then goes


def counters(identities: list[tuple[str, str]], now: float) -> list[Counter]:
    """The counters one request counts against, one per ``(scope, identity)``."""
    plans = []
    for scope, ident in identities:
        limit, period = rate(scope)
        window = int(now // period)
        plans.append(Counter(f"throttle:{scope}:{ident}:{period}:{window}", limit, period, window))
    return plans


def wait_after(plans: list[Counter], counted: list[int], now: float) -> float | None:
    """Seconds to wait if any counter is over its limit once counted (``counted``), else None.
    A count above the limit is refused (the counting script of ``engine.client`` compares the
    same way, so that it appends nothing for a request refused here)."""
    waits = [
        (plan.window + 1) * plan.period - now
        for plan, number in zip(plans, counted, strict=True)
        if number > plan.limit
    ]
    return max(waits) if waits else None


def _queue(pipe, plans: list[Counter]):
    for plan in plans:
        pipe.incr(plan.key)
        pipe.expire(plan.key, plan.ttl)
    return pipe


def count(identities: list[tuple[str, str]]) -> float | None:
    """Count one request against each ``(scope, identity)`` in one Redis round trip; the seconds
    to wait if any of them is over its rate, else ``None``."""
    now = time.time()
    plans = counters(identities, now)
    try:
        replies = _queue(get_redis().pipeline(transaction=False), plans).execute()
    except redis.RedisError as exc:
        # Throttling is protection, not a reason to refuse trading: let the request through.
        log.warning("rate limiter unavailable: %s", exc)
        return None
    return wait_after(plans, replies[::2], now)


async def count_async(identities: list[tuple[str, str]]) -> float | None:
    """``count`` on the process's asyncio Redis client (the order entry path's event loop)."""
    now = time.time()
    plans = counters(identities, now)
    try:
        replies = await _queue(get_async_redis().pipeline(transaction=False), plans).execute()
    except redis.RedisError as exc:
        log.warning("rate limiter unavailable: %s", exc)
        return None
    return wait_after(plans, replies[::2], now)


def identities_of(ip: str, key, user) -> list[tuple[str, str]]:
    """What an authenticated request counts against: its IP, its API key (or, without one, its
    session's user) and its user over all their keys."""
    identities = [("ip", ip)]
    account = account_identity_of(key, user)
    if account is not None:
        identities.append(("key", account))
    if user is not None and user.is_authenticated:
        identities.append(("user", f"u{user.pk}"))
    return identities


def account_identity_of(key, user) -> str | None:
    if key is not None and getattr(key, "pk", None) is not None:
        return f"k{key.pk}"
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return None


def account_identity(request) -> str | None:
    """The API key of the request, or the user of a browser session."""
    return account_identity_of(getattr(request, "auth", None), getattr(request, "user", None))


def count_ip(request) -> float | None:
    """Count a request that never got as far as the throttles (it failed authentication)."""
    return count([("ip", client_ip(request))])


class PrivateApiThrottle(BaseThrottle):
    """The per-IP, per-key and per-user limits of an authenticated request, in one round trip."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        identities = identities_of(
            client_ip(request), getattr(request, "auth", None), getattr(request, "user", None)
        )
        self._wait = count(identities)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
