"""Read side of reference and public market data: what the public REST API serves.

Depth, tickers and recent trades come from the engine's Redis market-data cache
(``contract.md_cache``), already rendered for the wire; history comes from the database. Nothing
here talks to the engine, so a slow or restarting engine never slows these reads.

``market_format``/``market_id`` are cached per process because every market-data request needs
them and they never change in practice: the engine has no command that changes a market's
symbol, assets, tick or step size. The cache is still dropped whenever a market or an asset is
saved or deleted in this process, so an admin edit is seen at once here (other processes only
cache what cannot change).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.db.models.signals import post_delete, post_save

from contract import jsonfast, md_cache, wire
from contract.intervals import INTERVAL_NAMES, INTERVALS
from contract.wire import MarketFormat
from exchange_site.redis_client import get_redis
from history import candles
from history.models import Trade
from markets import error_codes
from markets.models import Asset, Market

# Wider than BASE_QUOTE on purpose (Backpack has symbols like ``MU.US_USDC``); its job is to
# refuse junk (NUL bytes, 10 kB strings) before it reaches the database, which would reject
# some of it with an error of its own.
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$"
_SYMBOL_SHAPE = re.compile(SYMBOL_PATTERN[:-1] + r"\Z")


def is_symbol_shaped(symbol: str) -> bool:
    """Whether ``symbol`` can name a market or an asset; what cannot is refused without a query."""
    return _SYMBOL_SHAPE.match(symbol) is not None


@dataclass(frozen=True, slots=True)
class _MarketRef:
    id: int
    format: MarketFormat
    # With base and quote loaded. Only its never-changing fields may be relied on (id,
    # symbol, assets, tick/step sizes): its state or limits may be stale in this process.
    market: Market


_refs: dict[str, _MarketRef] = {}

# Markets are listed for /tickers from a per-process list kept this long: a market added in
# another process shows up within it (in this process at once: saves drop it).
MARKET_LIST_TTL_S = 5.0
_clock = time.monotonic  # tests move it forward
_market_list: tuple[float, list[MarketFormat]] | None = None


def clear_market_cache() -> None:
    """Forget every cached market (tests, and any save of a market or asset)."""
    global _market_list
    _refs.clear()
    _market_list = None


def on_reference_change(handler: Callable[..., None]) -> Callable[..., None]:
    """Decorator: call ``handler`` on every save and delete of a market or an asset in this
    process, so that a cache of reference data drops what an admin edit changed."""
    uid = f"{handler.__module__}.{handler.__qualname__}"
    for model in (Market, Asset):
        for signal in (post_save, post_delete):
            signal.connect(handler, sender=model, dispatch_uid=uid)
    return handler


@on_reference_change
def _drop_cache_on_change(**kwargs) -> None:
    clear_market_cache()


def _remember(market: Market) -> _MarketRef:
    ref = _MarketRef(id=market.id, format=MarketFormat.of(market), market=market)
    _refs[market.symbol] = ref
    return ref


def _load(symbol: str) -> Market:
    if not is_symbol_shaped(symbol):
        raise error_codes.unknown_symbol(symbol)
    try:
        return Market.objects.select_related("base", "quote").get(symbol=symbol)
    except Market.DoesNotExist:
        raise error_codes.unknown_symbol(symbol) from None


def get_market(symbol: str) -> Market:
    """The market with its assets loaded, fresh from the database (one query);
    ``INVALID_SYMBOL`` if there is none."""
    market = _load(symbol)
    _remember(market)
    return market


def _ref(symbol: str) -> _MarketRef:
    ref = _refs.get(symbol)
    if ref is None:
        # Misses are not cached: a market added later must be found without a restart.
        ref = _remember(_load(symbol))
    return ref


def market_format(symbol: str) -> MarketFormat:
    """How to render ``symbol``'s integers; ``INVALID_SYMBOL`` for an unknown market."""
    return _ref(symbol).format


def market_id(symbol: str) -> int:
    """The database id of ``symbol``'s market; ``INVALID_SYMBOL`` for an unknown market."""
    return _ref(symbol).id


# --- reference data -------------------------------------------------------------------------


def list_assets() -> list[Asset]:
    return list(Asset.objects.order_by("symbol"))


def list_markets() -> list[Market]:
    """Every market with its assets, in one query, ordered by symbol."""
    markets = list(Market.objects.select_related("base", "quote").order_by("symbol"))
    for market in markets:
        _remember(market)
    return markets


# --- market data from the engine's cache ---------------------------------------------------
# The cache holds values already rendered for the wire (``contract.md_cache``), so the hot paths
# hand its bytes to the client as they are: no parse, no re-render. A value is parsed only
# when it must be cut (a depth ``limit`` below what the cache holds).


def _now_us() -> int:
    return time.time_ns() // 1000


def _read(fn):
    try:
        return fn(get_redis())
    except redis.RedisError:
        raise error_codes.market_data_unavailable() from None


def empty_depth() -> dict:
    """The book of a market the engine has not published yet: a depth-stream client can sync
    from update id 0 (its first event has ``U`` = 1)."""
    return {"asks": [], "bids": [], "lastUpdateId": "0", "timestamp": _now_us()}


def depth_json(symbol: str, limit: int) -> bytes:
    """The book snapshot as wire JSON, at most ``limit`` levels a side from the best price.

    Both sides are ascending (the contract), so the best ask is first and the best bid is
    last: asks keep their head, bids their tail. ``lastUpdateId`` is the one the engine wrote
    with these levels in the same transaction, so it agrees with the depth stream.
    """
    market_format(symbol)  # validates the symbol (cached: no query on the hot path)
    raw = _read(lambda r: r.get(md_cache.depth_key(symbol)))
    if raw is None:
        return jsonfast.dumps(empty_depth())
    if limit >= md_cache.DEPTH_CACHE_LEVELS:
        return raw  # the engine never caches more levels than that a side: nothing to cut
    snapshot = jsonfast.loads(raw)
    snapshot["asks"] = snapshot["asks"][:limit]
    snapshot["bids"] = snapshot["bids"][-limit:]
    return jsonfast.dumps(snapshot)


def depth(symbol: str, limit: int) -> dict:
    return jsonfast.loads(depth_json(symbol, limit))


def ticker_json(symbol: str) -> bytes:
    """The rolling 24 h ticker as wire JSON; all zeros for a market that never traded."""
    fmt = market_format(symbol)
    raw = _read(lambda r: r.get(md_cache.ticker_key(symbol)))
    return raw if raw is not None else jsonfast.dumps(wire.ticker_rest(fmt, None))


def ticker(symbol: str) -> dict:
    return jsonfast.loads(ticker_json(symbol))


def _market_formats() -> list[MarketFormat]:
    global _market_list
    cached = _market_list
    if cached is not None and _clock() - cached[0] < MARKET_LIST_TTL_S:
        return cached[1]
    formats = [MarketFormat.of(m) for m in Market.objects.select_related("base", "quote").order_by("symbol")]
    _market_list = (_clock(), formats)
    return formats


def tickers_json() -> bytes:
    """One ticker per market, by symbol, as a wire JSON array: one MGET whatever the count,
    and no query while the market list is fresh."""
    formats = _market_formats()
    if not formats:
        return b"[]"
    raws = _read(lambda r: r.mget([md_cache.ticker_key(f.symbol) for f in formats]))
    parts = [
        raw if raw is not None else jsonfast.dumps(wire.ticker_rest(f, None))
        for f, raw in zip(formats, raws, strict=True)
    ]
    return b"[" + b",".join(parts) + b"]"


def tickers() -> list[dict]:
    return jsonfast.loads(tickers_json())


def recent_trades_json(symbol: str, limit: int) -> bytes:
    """The newest ``limit`` trades as a wire JSON array, newest last (the cache list has the
    newest at its head)."""
    market_format(symbol)
    raws = _read(lambda r: r.lrange(md_cache.trades_key(symbol), 0, limit - 1))
    raws.reverse()
    return b"[" + b",".join(raws) + b"]"


def recent_trades(symbol: str, limit: int) -> list[dict]:
    return jsonfast.loads(recent_trades_json(symbol, limit))


# --- history from the database -------------------------------------------------------------

_TRADE_FIELDS = ("trade_id", "price", "quantity", "quote_quantity", "ts", "is_buyer_maker")


def trade_history(symbol: str, limit: int, offset: int) -> list[dict]:
    """Trades counted back from the newest: ``offset`` newest skipped, then ``limit`` older
    ones, returned newest last like ``/api/v1/trades`` so a client can page backwards and
    concatenate pages in front of what it has. One query (the market is cached)."""
    ref = _ref(symbol)
    page = Trade.objects.filter(market_id=ref.id).order_by("-trade_id").values(*_TRADE_FIELDS)
    rows = list(page[offset : offset + limit])
    rows.reverse()
    return [wire.trade_rest(ref.format, row) for row in rows]


def klines(symbol: str, interval: str, start_s: int, end_s: int | None, limit: int) -> list[dict]:
    """Candles of ``symbol`` whose open time is in [start_s, end_s) (no upper bound without
    ``end_s``), ascending by open time, the earliest ``limit`` of them. One query.

    The buckets are ``contract.intervals``', the candles ``history.candles``'; this checks the
    request and hands it over.
    """
    ref = _ref(symbol)
    if interval not in INTERVALS:
        names = " ".join(INTERVAL_NAMES)
        raise error_codes.invalid_parameter("interval", f"{interval[:40]!r} is not one of {names}")
    if end_s is not None and start_s > end_s:
        raise error_codes.invalid_parameter("startTime", f"startTime {start_s} is after endTime {end_s}")
    return candles.klines(ref.market, interval, start_s, end_s, limit=limit)
