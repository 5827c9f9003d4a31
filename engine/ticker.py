"""Rolling 24-hour ticker per market, from trades, in per-minute buckets.

Pure and deterministic: time comes from the trades' and commands' timestamps, so replaying the
command log rebuilds the same tickers. The state is small (at most 1,440 buckets per market)
and travels in the engine process's snapshot.
"""

from __future__ import annotations

from collections import deque

MINUTE_MS = 60_000
WINDOW_MS = 24 * 60 * MINUTE_MS

# A bucket: [minute_start_ms, open, high, low, close, volume_lots, quote_units, trades]
Bucket = list


class RollingTicker:
    __slots__ = ("buckets", "last_price")

    def __init__(self) -> None:
        self.buckets: deque[Bucket] = deque()
        self.last_price: int | None = None

    def add_trade(self, ts_ms: int, price: int, quantity: int, quote_quantity: int) -> None:
        minute = ts_ms - ts_ms % MINUTE_MS
        buckets = self.buckets
        if buckets and buckets[-1][0] >= minute:
            b = buckets[-1]
            if price > b[2]:
                b[2] = price
            if price < b[3]:
                b[3] = price
            b[4] = price
            b[5] += quantity
            b[6] += quote_quantity
            b[7] += 1
        else:
            buckets.append([minute, price, price, price, price, quantity, quote_quantity, 1])
        self.last_price = price
        self.expire(ts_ms)

    def expire(self, now_ms: int) -> None:
        cutoff = now_ms - WINDOW_MS
        buckets = self.buckets
        while buckets and buckets[0][0] + MINUTE_MS <= cutoff:
            buckets.popleft()

    def stats(self, now_ms: int) -> dict | None:
        """Integers of the 24 h window ending at ``now_ms``; None if the market never traded.
        A pure read: buckets leave the state only when a newer trade arrives (``add_trade``)."""
        if self.last_price is None:
            return None
        cutoff = now_ms - WINDOW_MS
        window = [b for b in self.buckets if b[0] + MINUTE_MS > cutoff]
        if not window:
            p = self.last_price
            return {"first": p, "last": p, "high": p, "low": p, "volume": 0, "quote_volume": 0, "trades": 0}
        return {
            "first": window[0][1],
            "last": self.last_price,
            "high": max(b[2] for b in window),
            "low": min(b[3] for b in window),
            "volume": sum(b[5] for b in window),
            "quote_volume": sum(b[6] for b in window),
            "trades": sum(b[7] for b in window),
        }

    def to_state(self) -> tuple:
        return (self.last_price, [tuple(b) for b in self.buckets])

    @classmethod
    def from_state(cls, state: tuple) -> RollingTicker:
        t = cls()
        t.last_price = state[0]
        t.buckets = deque(list(b) for b in state[1])
        return t
