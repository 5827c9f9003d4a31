"""Read side of reference and public market data: what the public REST API serves.

Depth, tickers and recent trades come from the engine's Redis market-data cache
(``engine.md_cache``), already rendered for the wire; history comes from the database. Nothing
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
from dataclasses import dataclass

import redis
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from engine import md_cache, wire
from engine.wire import MarketFormat
from exchange_site.redis_client import get_redis
from markets import candles, error_codes
from markets.models import Asset, Market, Trade

# Wider than BASE_QUOTE on purpose (Backpack has symbols like ``MU.US_USDC``); its job is to
# refuse junk (NUL bytes, 10 kB strings) before it reaches the database, which would reject
# some of it with an error of its own.
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$"
_SYMBOL_SHAPE = re.compile(SYMBOL_PATTERN[:-1] + r"\Z")


@dataclass(frozen=True, slots=True)
class _MarketRef:
    id: int
    format: MarketFormat


_refs: dict[str, _MarketRef] = {}


def clear_market_cache() -> None:
    """Forget every cached market (tests, and any save of a market or asset)."""
    _refs.clear()


@receiver(post_save, sender=Market, dispatch_uid="markets.selectors.market_saved")
@receiver(post_delete, sender=Market, dispatch_uid="markets.selectors.market_deleted")
@receiver(post_save, sender=Asset, dispatch_uid="markets.selectors.asset_saved")
@receiver(post_delete, sender=Asset, dispatch_uid="markets.selectors.asset_deleted")
def _drop_cache_on_change(**kwargs) -> None:
    clear_market_cache()


def format_of(market: Market) -> MarketFormat:
    """The wire renderer of a market loaded with its ``base`` and ``quote`` assets."""
    return MarketFormat(
        symbol=market.symbol,
        base=market.base.symbol,
        quote=market.quote.symbol,
        tick_size=market.tick_size,
        step_size=market.step_size,
        base_decimals=market.base.decimals,
        quote_decimals=market.quote.decimals,
    )


def _remember(market: Market) -> _MarketRef:
    ref = _MarketRef(id=market.id, format=format_of(market))
    _refs[market.symbol] = ref
    return ref


def get_market(symbol: str) -> Market:
    """The market with its assets loaded (one query); ``INVALID_SYMBOL`` if there is none."""
    if not _SYMBOL_SHAPE.match(symbol):
        raise error_codes.unknown_symbol(symbol)
    try:
        market = Market.objects.select_related("base", "quote").get(symbol=symbol)
    except Market.DoesNotExist:
        raise error_codes.unknown_symbol(symbol) from None
    _remember(market)
    return market


def _ref(symbol: str) -> _MarketRef:
    ref = _refs.get(symbol)
    if ref is None:
        # Misses are not cached: a market added later must be found without a restart.
        get_market(symbol)
        ref = _refs[symbol]
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


def _now_us() -> int:
    return time.time_ns() // 1000


def depth(symbol: str, limit: int) -> dict:
    """The book snapshot, at most ``limit`` levels per side counted from the best price.

    Both sides are ascending (the contract), so the best ask is first and the best bid is
    last: asks keep their head, bids their tail. A market the engine has not published yet
    has an empty book at update id 0, which a depth-stream client can sync from.
    """
    market_format(symbol)  # validates the symbol (cached: no query on the hot path)
    try:
        snapshot = md_cache.read_depth(get_redis(), symbol)
    except redis.RedisError:
        raise error_codes.market_data_unavailable() from None
    if snapshot is None:
        return {"asks": [], "bids": [], "lastUpdateId": "0", "timestamp": _now_us()}
    asks = snapshot.get("asks") or []
    bids = snapshot.get("bids") or []
    return {
        "asks": asks[:limit],
        "bids": bids[-limit:] if len(bids) > limit else bids,
        # str(): the contract says a string; the cache may hold it either way.
        "lastUpdateId": str(snapshot.get("lastUpdateId", 0)),
        "timestamp": int(snapshot.get("timestamp") or _now_us()),
    }


def ticker(symbol: str) -> dict:
    """The rolling 24 h ticker; all zeros for a market that never traded."""
    fmt = market_format(symbol)
    try:
        cached = md_cache.read_ticker(get_redis(), symbol)
    except redis.RedisError:
        raise error_codes.market_data_unavailable() from None
    return cached if cached is not None else wire.ticker_rest(fmt, None)


def tickers() -> list[dict]:
    """One ticker per market, ordered by symbol: one query and one MGET, whatever the count."""
    markets = list_markets()
    try:
        cached = md_cache.read_tickers(get_redis(), [m.symbol for m in markets])
    except redis.RedisError:
        raise error_codes.market_data_unavailable() from None
    return [cached[m.symbol] or wire.ticker_rest(format_of(m), None) for m in markets]


def recent_trades(symbol: str, limit: int) -> list[dict]:
    """The newest ``limit`` trades, newest last."""
    market_format(symbol)
    try:
        return md_cache.read_recent_trades(get_redis(), symbol, limit)
    except redis.RedisError:
        raise error_codes.market_data_unavailable() from None


# --- history from the database -------------------------------------------------------------

_TRADE_FIELDS = ("trade_id", "price", "quantity", "quote_quantity", "ts", "is_buyer_maker")


def trade_history(symbol: str, limit: int, offset: int) -> list[dict]:
    """Trades counted back from the newest: ``offset`` newest skipped, then ``limit`` older
    ones, returned newest last like ``/api/v1/trades`` so a client can page backwards and
    concatenate pages in front of what it has."""
    ref = _ref(symbol)
    rows = list(
        Trade.objects.filter(market_id=ref.id)
        .order_by("-trade_id")
        .values(*_TRADE_FIELDS)[offset : offset + limit]
    )
    rows.reverse()
    return [wire.trade_rest(ref.format, row) for row in rows]


def klines(symbol: str, interval: str, start_s: int, end_s: int | None, limit: int) -> list[dict]:
    """Candles of ``symbol`` whose open time is in [start_s, end_s) (no upper bound without
    ``end_s``), ascending by open time, the earliest ``limit`` of them.

    The bucketing is ``markets.candles``' (the one owner of candle logic); this checks the
    request and hands it over.
    """
    market = get_market(symbol)
    if interval not in candles.INTERVALS:
        names = " ".join(candles.INTERVAL_NAMES)
        raise error_codes.invalid_parameter("interval", f"{interval[:40]!r} is not one of {names}")
    if end_s is not None and start_s > end_s:
        raise error_codes.invalid_parameter("startTime", f"startTime {start_s} is after endTime {end_s}")
    return candles.klines(market, interval, start_s, end_s, limit=limit)
