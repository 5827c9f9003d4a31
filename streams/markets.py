"""The set of market symbols, cached briefly per process.

Every subscribe frame needs it, and a burst of reconnecting clients must not become a burst of
queries. A symbol missing from the cache triggers one refresh (at most once per
``MISS_REFRESH_S``) so a market added a moment ago is found without waiting for the TTL.
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async

TTL_S = 10.0
MISS_REFRESH_S = 1.0

_symbols: frozenset[str] = frozenset()
_loaded_at = float("-inf")


def _load() -> frozenset[str]:
    from markets.models import Market

    return frozenset(Market.objects.values_list("symbol", flat=True))


async def _refresh() -> None:
    global _symbols, _loaded_at
    _symbols = await database_sync_to_async(_load)()
    _loaded_at = time.monotonic()


async def unknown(symbols: set[str]) -> list[str]:
    """The symbols in ``symbols`` that are not markets, sorted."""
    if not symbols:
        return []
    age = time.monotonic() - _loaded_at
    if age >= TTL_S or (not symbols <= _symbols and age >= MISS_REFRESH_S):
        await _refresh()
    return sorted(symbols - _symbols)


def forget() -> None:
    """Drop the cache (tests that create markets)."""
    global _symbols, _loaded_at
    _symbols = frozenset()
    _loaded_at = float("-inf")
