"""Kline intervals and their buckets: which bucket a time falls in, where a bucket ends.

Bucket rule (UTC throughout; every bucket is ``[open_time, next open_time)``):

* ``1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d``: aligned to the Unix epoch
  (1970-01-01 00:00 UTC), ``open_time = floor(ts / length) * length``. Every length up to
  ``1d`` divides a day, so these buckets also start at 00:00 UTC each day. ``3d`` is
  epoch-aligned: buckets start on 1970-01-01, 1970-01-04, ..., so 2025-01-01 lies in the
  bucket [2024-12-31, 2025-01-03) (day number 20088 since the epoch is a multiple of 3).
* ``1w``: Monday 00:00 UTC (1970-01-05 was a Monday: the anchor).
* ``1month``: the 1st of the calendar month, 00:00 UTC.

Every bucket boundary is a whole minute, so a trade's bucket for any interval is the bucket
of its ``1m`` bucket. The engine uses these buckets to tell when a candle is over
(``engine.publisher.CandleCloser``), the worker to build candles (``history.candles``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_ANCHOR_MS = 4 * DAY_MS  # 1970-01-05 00:00 UTC, a Monday


@dataclass(frozen=True, slots=True)
class Interval:
    """A kline interval: fixed ``length_ms`` aligned to ``origin_ms``, or calendar months."""

    name: str
    length_ms: int | None  # None: calendar month
    origin_ms: int = 0

    def start(self, ts_ms: int) -> int:
        """Open time (ms) of the bucket containing ``ts_ms``."""
        if self.length_ms is None:
            year, month = _year_month(ts_ms)
            return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000
        return (ts_ms - self.origin_ms) // self.length_ms * self.length_ms + self.origin_ms

    def end(self, start_ms: int) -> int:
        """Open time of the next bucket (exclusive end of the bucket opening at ``start_ms``)."""
        if self.length_ms is None:
            year, month = _year_month(start_ms)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000
        return start_ms + self.length_ms


def _year_month(ts_ms: int) -> tuple[int, int]:
    d = datetime.fromtimestamp(ts_ms // 1000, UTC)
    return d.year, d.month


# Each fixed interval's name is its length: a count and a unit.
_UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}
_FIXED = "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d".split()
# The contract's intervals, in its order.
INTERVALS: dict[str, Interval] = {n: Interval(n, int(n[:-1]) * _UNIT_MS[n[-1]]) for n in _FIXED}
INTERVALS["1w"] = Interval("1w", 7 * DAY_MS, WEEK_ANCHOR_MS)
INTERVALS["1month"] = Interval("1month", None)
INTERVAL_NAMES: tuple[str, ...] = tuple(INTERVALS)


def parse_interval(name: str) -> Interval:
    """The interval called ``name``; ``ValueError`` for anything not in the contract."""
    try:
        return INTERVALS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown interval {name!r}; one of {' '.join(INTERVAL_NAMES)}") from None


def bucket_start(interval: str | Interval, ts_ms: int) -> int:
    iv = interval if isinstance(interval, Interval) else parse_interval(interval)
    return iv.start(ts_ms)


def bucket_end(interval: str | Interval, start_ms: int) -> int:
    iv = interval if isinstance(interval, Interval) else parse_interval(interval)
    return iv.end(start_ms)
