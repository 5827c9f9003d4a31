"""Rate limits of the private API: per API key (or session user) and per client IP.

DRF's own throttles keep their history in the Django cache, which is per process here (several
web workers would each allow the full rate). These keep one fixed-window counter per identity in
Redis instead: one INCR+EXPIRE round trip, shared by every worker. A refused request is answered
429 ``TOO_MANY_REQUESTS`` with ``Retry-After`` (``exchange_site.api_errors``).

Rates come from ``settings.API_RATE_LIMITS`` (``{"key": "1200/10s", "ip": "30000/10s"}``) with
the defaults below; ``"N/Ps"``, ``"N/s"``, ``"N/m"`` and ``"N/h"`` are understood.
"""

from __future__ import annotations

import logging
import re
import time

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from exchange_site.redis_client import get_redis

log = logging.getLogger(__name__)

# Generous enough for market makers and for the load benchmark (many keys from one host), low
# enough that one runaway client cannot starve the engine.
DEFAULT_RATES = {"key": "1200/10s", "ip": "30000/10s"}
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
    # REMOTE_ADDR, not X-Forwarded-For: a header the client sets could dodge the limit.
    return request.META.get("REMOTE_ADDR") or "unknown"


class RedisRateThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def rate(self) -> tuple[int, int]:
        rates = {**DEFAULT_RATES, **getattr(settings, "API_RATE_LIMITS", {})}
        return parse_rate(rates[self.scope])

    def identity(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.identity(request)
        if ident is None:
            return True
        limit, period = self.rate()
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{period}:{window}"
        try:
            pipe = get_redis().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, period + 1)
            count = pipe.execute()[0]
        except redis.RedisError as exc:
            # Throttling is protection, not a reason to refuse trading: let the request through.
            log.warning("rate limiter unavailable: %s", exc)
            return True
        if count > limit:
            self._wait = (window + 1) * period - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class AccountRateThrottle(RedisRateThrottle):
    """Per API key; a browser session counts per user."""

    scope = "key"

    def identity(self, request) -> str | None:
        key = getattr(request, "auth", None)
        if key is not None and getattr(key, "pk", None) is not None:
            return f"k{key.pk}"
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"u{user.pk}"
        return None


class IpRateThrottle(RedisRateThrottle):
    """Per client address, checked before authentication so that floods of bad signatures are
    limited too."""

    scope = "ip"

    def identity(self, request) -> str | None:
        return client_ip(request)
