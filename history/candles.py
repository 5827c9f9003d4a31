"""Candles (klines): idempotent merging of trades into candles, and the selector behind
``GET /api/v1/klines``.

Buckets are ``contract.intervals``'. Every bucket boundary is a whole minute, so a trade's
bucket for any interval is the bucket of its ``1m`` bucket: the merge aggregates trades per
minute once and rolls the minutes up.

Merging (what makes it idempotent and order-independent): a candle is a commutative summary
of its trades — ``open`` is the price of its lowest trade id, ``close`` of its highest, ``high``
/``low`` are max/min, volumes and the count are sums. The worker merges into candles only the
trades its own ``INSERT ... ON CONFLICT DO NOTHING`` actually inserted, in the same database
transaction: a trade is folded in exactly once however often it is delivered, in whatever
order and by however many workers at once (the unique index makes a concurrent duplicate wait
and then insert nothing).

Empty buckets: **omitted**. A bucket with no trades has no row; ``klines`` returns only
buckets that had trades, and the websocket publishes a kline only when a trade changed it.

Closing: a worker publishes a candle's frames with ``X: false`` while it is open
(``open_kline_frames``) and one final frame with ``X: true`` when the engine process says the
bucket is over (``engine.publisher.CandleCloser``, then the ``persistence.close_candles`` task).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection

from contract.intervals import INTERVAL_NAMES, INTERVALS, MINUTE_MS, Interval, parse_interval
from contract.wire import MarketFormat, plain

from .models import Candle, Trade, market_model

# --- aggregation -----------------------------------------------------------------------------

# A partial candle: [open, high, low, close, volume, quote_volume, trades, first_id, last_id].
Agg = list[int]
CandleKey = tuple[int, str, int]  # (market_id, interval name, open_time ms)


def _merge_into(acc: Agg, part: Sequence[int]) -> None:
    if part[7] < acc[7]:
        acc[0] = part[0]
        acc[7] = part[7]
    if part[8] > acc[8]:
        acc[3] = part[3]
        acc[8] = part[8]
    if part[1] > acc[1]:
        acc[1] = part[1]
    if part[2] < acc[2]:
        acc[2] = part[2]
    acc[4] += part[4]
    acc[5] += part[5]
    acc[6] += part[6]


def aggregate(
    trades: Iterable[Sequence[int]], intervals: Iterable[Interval] | None = None
) -> dict[CandleKey, Agg]:
    """Candle partials of ``trades`` for every interval (or those given).

    A trade is ``(market_id, trade_id, ts_ms, price, quantity, quote_quantity)``; the result maps
    ``(market_id, interval, open_time)`` to ``[open, high, low, close, volume, quote_volume,
    trades, first_trade_id, last_trade_id]``. Duplicates are the caller's business: every trade
    given is counted.
    """
    minutes: dict[tuple[int, int], Agg] = {}
    for market_id, trade_id, ts, price, qty, quote in trades:
        key = (market_id, ts - ts % MINUTE_MS)
        acc = minutes.get(key)
        if acc is None:
            minutes[key] = [price, price, price, price, qty, quote, 1, trade_id, trade_id]
        else:
            _merge_into(acc, (price, price, price, price, qty, quote, 1, trade_id, trade_id))
    wanted = list(INTERVALS.values()) if intervals is None else list(intervals)
    out: dict[CandleKey, Agg] = {}
    for (market_id, minute), part in minutes.items():
        for iv in wanted:
            key = (market_id, iv.name, minute if iv.name == "1m" else iv.start(minute))
            acc = out.get(key)
            if acc is None:
                out[key] = list(part)
            else:
                _merge_into(acc, part)
    return out


# --- SQL ---------------------------------------------------------------------------------------

_CANDLE_COLUMNS = (
    "market_id",
    "interval",
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "first_trade_id",
    "last_trade_id",
)
_PG_TYPES = ("bigint", "text", "bigint") + ("bigint",) * 9


def _table() -> str:
    return Candle._meta.db_table


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _upsert_sql(vendor: str, overwrite: bool, source: str) -> str:
    """``INSERT ... ON CONFLICT (market, interval, open_time) DO UPDATE``: a merge (the default)
    or an overwrite (rebuild). In a merge every SET reads the row as it was, so the order of
    the assignments does not matter."""
    t = _q(_table())
    cols = ", ".join(_q(c) for c in _CANDLE_COLUMNS)
    if overwrite:
        sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in _CANDLE_COLUMNS[3:])
    else:
        greatest, least = ("GREATEST", "LEAST") if vendor == "postgresql" else ("MAX", "MIN")

        def old(c: str) -> str:
            return f"{t}.{_q(c)}"

        sets = ", ".join(
            [
                f"{_q('open')} = CASE WHEN excluded.{_q('first_trade_id')} < {old('first_trade_id')} "
                f"THEN excluded.{_q('open')} ELSE {old('open')} END",
                f"{_q('close')} = CASE WHEN excluded.{_q('last_trade_id')} > {old('last_trade_id')} "
                f"THEN excluded.{_q('close')} ELSE {old('close')} END",
                f"{_q('high')} = {greatest}({old('high')}, excluded.{_q('high')})",
                f"{_q('low')} = {least}({old('low')}, excluded.{_q('low')})",
                f"{_q('volume')} = {old('volume')} + excluded.{_q('volume')}",
                f"{_q('quote_volume')} = {old('quote_volume')} + excluded.{_q('quote_volume')}",
                f"{_q('trades')} = {old('trades')} + excluded.{_q('trades')}",
                f"{_q('first_trade_id')} = {least}({old('first_trade_id')}, excluded.{_q('first_trade_id')})",
                f"{_q('last_trade_id')} = {greatest}({old('last_trade_id')}, excluded.{_q('last_trade_id')})",
            ]
        )
    conflict = ", ".join(_q(c) for c in _CANDLE_COLUMNS[:3])
    return f"INSERT INTO {t} ({cols}) {source} ON CONFLICT ({conflict}) DO UPDATE SET {sets}"


def upsert(partials: dict[CandleKey, Agg], *, overwrite: bool = False) -> list[tuple]:
    """Merge (or, with ``overwrite``, replace) candle partials into the table; returns the
    resulting rows ``(market_id, interval, open_time, open, high, low, close, volume,
    quote_volume, trades, first_trade_id, last_trade_id)``. Must run inside the transaction
    that inserted the trades being merged. Rows are written in key order so that concurrent
    workers lock candles in the same order and cannot deadlock on each other."""
    if not partials:
        return []
    rows = [(*key, *agg) for key, agg in sorted(partials.items())]
    vendor = connection.vendor
    with connection.cursor() as cur:
        if vendor == "postgresql":
            source = "SELECT * FROM unnest(" + ", ".join(f"%s::{t}[]" for t in _PG_TYPES) + ")"
            returning = " RETURNING " + ", ".join(_q(c) for c in _CANDLE_COLUMNS)
            cur.execute(
                _upsert_sql(vendor, overwrite, source) + returning,
                [list(col) for col in zip(*rows, strict=True)],
            )
            return [tuple(r) for r in cur.fetchall()]
        values = "VALUES (" + ", ".join(["%s"] * len(_CANDLE_COLUMNS)) + ")"
        cur.executemany(_upsert_sql(vendor, overwrite, values), rows)
        return _read_back(cur, [r[:3] for r in rows])


def read_rows(keys: Iterable[CandleKey]) -> list[tuple]:
    """The stored rows of the candles ``keys`` in ``upsert``'s row shape; absent ones left out."""
    wanted = set(keys)
    if not wanted:
        return []
    markets, names, opens = (set(part) for part in zip(*wanted, strict=True))
    rows = Candle.objects.filter(market_id__in=markets, interval__in=names, open_time__in=opens)
    return [tuple(r) for r in rows.values_list(*_CANDLE_COLUMNS) if tuple(r[:3]) in wanted]


def _read_back(cur, keys: list[CandleKey]) -> list[tuple]:
    t = _q(_table())
    cols = ", ".join(_q(c) for c in _CANDLE_COLUMNS)
    out = []
    for key in keys:
        cur.execute(
            f"SELECT {cols} FROM {t} WHERE {_q('market_id')} = %s AND {_q('interval')} = %s "
            f"AND {_q('open_time')} = %s",
            list(key),
        )
        out.extend(tuple(r) for r in cur.fetchall())
    return out


# --- rebuilding from trades -------------------------------------------------------------------


def rebuild(market_ids: Sequence[int] | None = None, since_ms: int | None = None) -> int:
    """Recompute candles from the trades table: every bucket that starts at or after the bucket
    containing ``since_ms`` (all buckets without it), for the given markets (all without).
    Returns the number of candle rows written. Runs in the caller's transaction.

    On PostgreSQL it is one ``INSERT ... SELECT ... GROUP BY`` per interval (``date_bin`` /
    ``date_trunc`` for the buckets), under a lock that makes live workers wait for it: a worker
    merges its new trades into candles in the same transaction that inserts them, so while the
    lock is held no trade can become visible without its candle merge being queued after us.
    Elsewhere (SQLite) the trades are streamed through ``aggregate`` in Python; SQLite
    serializes writers anyway.
    """
    if market_ids is None:
        market_ids = list(market_model().objects.values_list("id", flat=True))
    market_ids = list(market_ids)
    if not market_ids:
        return 0
    vendor = connection.vendor
    if vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"LOCK TABLE {_q(_table())} IN SHARE ROW EXCLUSIVE MODE")
    written = 0
    for iv in INTERVALS.values():
        lower = None if since_ms is None else iv.start(since_ms)
        stale = Candle.objects.filter(market_id__in=market_ids, interval=iv.name)
        if lower is not None:
            stale = stale.filter(open_time__gte=lower)
        stale.delete()
        if vendor == "postgresql":
            written += _rebuild_interval_pg(iv, market_ids, lower)
        else:
            trades = Trade.objects.filter(market_id__in=market_ids)
            if lower is not None:
                trades = trades.filter(ts__gte=lower)
            rows = trades.values_list("market_id", "trade_id", "ts", "price", "quantity", "quote_quantity")
            partials = aggregate(rows.iterator(chunk_size=10_000), [iv])
            written += len(upsert(partials, overwrite=True))
    return written


def _pg_bucket_expr(iv: Interval) -> str:
    """The bucket open time (ms) of ``ts`` in SQL. ``ts / 1000`` is whole seconds: every bucket
    boundary is a whole minute, so flooring to the second first is exact."""
    at = "to_timestamp(ts / 1000)"
    if iv.length_ms is None:
        bucket = f"date_trunc('month', {at} AT TIME ZONE 'UTC')"
    else:
        origin = datetime.fromtimestamp(iv.origin_ms // 1000, UTC).strftime("%Y-%m-%d %H:%M:%S+00")
        bucket = f"date_bin(interval '{iv.length_ms // 1000} seconds', {at}, timestamptz '{origin}')"
    return f"(extract(epoch FROM {bucket}) * 1000)::bigint"


def _rebuild_interval_pg(iv: Interval, market_ids: list[int], lower: int | None) -> int:
    trades = _q(Trade._meta.db_table)
    where = "market_id = ANY(%s)" + ("" if lower is None else " AND ts >= %s")
    params: list = [market_ids] + ([] if lower is None else [lower])
    # open/close: the price of the lowest/highest trade id of the bucket.
    source = f"""
        SELECT market_id, %s, bucket,
               (array_agg(price ORDER BY trade_id))[1], max(price), min(price),
               (array_agg(price ORDER BY trade_id DESC))[1],
               sum(quantity), sum(quote_quantity), count(*), min(trade_id), max(trade_id)
        FROM (SELECT market_id, trade_id, price, quantity, quote_quantity,
                     {_pg_bucket_expr(iv)} AS bucket
              FROM {trades} WHERE {where}) t
        GROUP BY market_id, bucket
    """
    with connection.cursor() as cur:
        cur.execute(_upsert_sql("postgresql", True, source), [iv.name, *params])
        return cur.rowcount


# --- reading -----------------------------------------------------------------------------------


def _rest_time(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000))


def _iso_time(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))


def shifted(units: int, exponent: int) -> str:
    """``units * 10**exponent`` as a plain decimal string without trailing zeros — the same text
    as ``contract.wire.plain`` — by moving the decimal point in the digits instead of going
    through ``Decimal`` (which is most of the cost of rendering a day of candles)."""
    if units == 0:
        return "0"
    sign = "-" if units < 0 else ""
    digits = str(abs(units))
    if exponent >= 0:
        return sign + digits + "0" * exponent
    places = -exponent
    if len(digits) <= places:
        digits = "0" * (places - len(digits) + 1) + digits
    whole, frac = digits[:-places], digits[-places:].rstrip("0")
    return sign + whole + ("." + frac if frac else "")


def _renderer(step: Decimal) -> Callable[[int], str]:
    """Integer multiples of ``step`` as wire strings, memoised (prices repeat within a range)."""
    _sign, digits, exponent = step.normalize().as_tuple()
    if digits == (1,):  # a power of ten: move the point
        render: Callable[[int], str] = functools.partial(shifted, exponent=exponent)
    else:

        def render(units: int) -> str:
            return plain(units * step)

    cache: dict[int, str] = {}

    def memo(units: int) -> str:
        text = cache.get(units)
        if text is None:
            text = cache[units] = render(units)
        return text

    return memo


def klines(
    market, interval: str | Interval, start_s: int, end_s: int | None = None, limit: int | None = None
) -> list[dict]:
    """``GET /api/v1/klines``: the candles of ``market`` (a ``Market`` or its symbol) whose open
    time is in ``[start_s, end_s)`` (seconds; no upper bound without ``end_s``), ascending, at
    most ``limit`` (the earliest) when given. Buckets without trades are omitted. Shape:
    ``{start, end, open, high, low, close, volume, quoteVolume, trades}``, times as
    ``"YYYY-MM-DD HH:MM:SS"`` UTC, amounts as decimal strings, ``trades`` as a string (as
    Backpack sends it). ``ValueError`` for an unknown interval; ``Market.DoesNotExist`` for an
    unknown symbol."""
    iv = interval if isinstance(interval, Interval) else parse_interval(interval)
    if isinstance(market, str):
        market = market_model().objects.select_related("base", "quote").get(symbol=market)
    fmt = MarketFormat.of(market)
    rows = Candle.objects.filter(market_id=market.pk, interval=iv.name, open_time__gte=start_s * 1000)
    if end_s is not None:
        rows = rows.filter(open_time__lt=end_s * 1000)
    rows = rows.order_by("open_time").values_list(
        "open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades"
    )
    if limit is not None:
        rows = rows[:limit]
    price = _renderer(fmt.tick_size)
    quantity = _renderer(fmt.step_size)
    quote = functools.partial(shifted, exponent=-fmt.quote_decimals)
    times: dict[int, str] = {}  # a bucket's end is the next bucket's start: render each once

    def when(ms: int) -> str:
        text = times.get(ms)
        if text is None:
            text = times[ms] = _rest_time(ms)
        return text

    return [
        {
            "start": when(t),
            "end": when(iv.end(t)),
            "open": price(o),
            "high": price(h),
            "low": price(lo),
            "close": price(c),
            "volume": quantity(v),
            "quoteVolume": quote(qv),
            "trades": str(n),
        }
        for t, o, h, lo, c, v, qv, n in rows
    ]


def kline_frame(fmt: MarketFormat, row: Sequence[int], now_ms: int, closed: bool | None = None) -> dict:
    """The websocket frame of one candle row (as ``upsert`` returns it) at ``now_ms``. ``closed``
    overrides ``X``: the engine decides that a bucket is over by the time of its commands, and
    the worker's clock may still be a little before the bucket's end."""
    _market_id, name, t, o, h, lo, c, v, _qv, n, _first, _last = row
    end = INTERVALS[name].end(t)
    return {
        "stream": f"kline.{name}.{fmt.symbol}",
        "data": {
            "e": "kline",
            "E": now_ms * 1000,
            "s": fmt.symbol,
            "t": _iso_time(t),
            "T": _iso_time(end),
            "o": fmt.price(o),
            "h": fmt.price(h),
            "l": fmt.price(lo),
            "c": fmt.price(c),
            "v": fmt.quantity(v),
            "n": n,
            "X": end <= now_ms if closed is None else closed,
        },
    }


def open_kline_frames(
    rows: Iterable[Sequence[int]], formats: dict[int, MarketFormat], now_ms: int
) -> list[dict]:
    """Frames for the changed candles still open at ``now_ms``: per (market, interval) only the
    newest, so a client never receives an older bucket after a newer one."""
    newest: dict[tuple[int, str], Sequence[int]] = {}
    for row in rows:
        key = (row[0], row[1])
        if INTERVALS[row[1]].end(row[2]) > now_ms and (key not in newest or row[2] > newest[key][2]):
            newest[key] = row
    return [
        kline_frame(formats[key[0]], row, now_ms)
        for key, row in sorted(newest.items(), key=lambda kv: (kv[0][0], INTERVAL_NAMES.index(kv[0][1])))
        if key[0] in formats
    ]
