"""Rendering engine integers as the wire's decimal strings and payloads (shared/API.md).

The engine process uses this to build websocket and pub/sub payloads and the Redis cache;
the API uses it to turn engine replies into order objects. One renderer, one format.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from engine.core import units

T = TypeVar("T")

# One renderer of plain decimals for the whole project: the core's.
plain = units.format_decimal


def amount(units: int, decimals: int) -> str:
    """An asset amount in its smallest units, as a decimal string."""
    return plain(Decimal(units).scaleb(-decimals))


def iso_ms(ts_ms: int) -> str:
    """Naive ISO UTC with milliseconds, as the history endpoints use."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}"


# Rendered decimals kept per market and kind (prices, quantities, quote amounts, depth levels): a
# book and its trades repeat the same few hundred prices and sizes, and rendering one (Decimal
# arithmetic and formatting) costs more than a dict lookup by an order of magnitude. Cleared
# when full.
RENDER_CACHE_MAX = 20_000


def _remember(cache: dict, value: Hashable, text: T) -> T:
    if len(cache) >= RENDER_CACHE_MAX:
        cache.clear()
    cache[value] = text
    return text


@dataclass(frozen=True, slots=True)
class MarketFormat:
    """What it takes to render one market's integers; it keeps the texts it rendered (up to
    ``RENDER_CACHE_MAX`` a kind), so that a price or quantity seen before costs a lookup."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    base_decimals: int
    quote_decimals: int
    _prices: dict[int, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _quantities: dict[int, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _quote_amounts: dict[int, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _level_texts: dict[tuple[int, int], bytes] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, market) -> MarketFormat:
        """The renderer of a market row (``markets.models.Market``) loaded with its ``base`` and
        ``quote`` assets."""
        return cls(
            symbol=market.symbol,
            base=market.base.symbol,
            quote=market.quote.symbol,
            tick_size=market.tick_size,
            step_size=market.step_size,
            base_decimals=market.base.decimals,
            quote_decimals=market.quote.decimals,
        )

    def price(self, ticks: int | None) -> str | None:
        if ticks is None:
            return None
        text = self._prices.get(ticks)
        return text if text is not None else _remember(self._prices, ticks, plain(ticks * self.tick_size))

    def quantity(self, lots: int | None) -> str | None:
        if lots is None:
            return None
        text = self._quantities.get(lots)
        return text if text is not None else _remember(self._quantities, lots, plain(lots * self.step_size))

    def quote_amount(self, units: int | None) -> str | None:
        if units is None:
            return None
        text = self._quote_amounts.get(units)
        if text is None:
            text = _remember(self._quote_amounts, units, amount(units, self.quote_decimals))
        return text

    def levels(self, levels: list[tuple[int, int]]) -> list[list[str]]:
        return [[self.price(p), self.quantity(q)] for p, q in levels]

    def levels_json(self, levels: Iterable[tuple[int, int]]) -> bytes:
        """``levels`` as the JSON of ``levels()``. The engine renders its book's best thousand
        levels a side after every batch, and most are as they were: each level's JSON is
        remembered, so a level costs a lookup instead of two renderings and its encoding (a
        quarter of the time for a full book)."""
        known = self._level_texts
        parts = []
        for level in levels:
            text = known.get(level)
            if text is None:
                # Formatted, not orjson.dumps: its result keeps orjson's 1 KB output buffer, fifty
                # times the text, for as long as it is remembered. Plain decimals need no escaping.
                text = b'["%s","%s"]' % (self.price(level[0]).encode(), self.quantity(level[1]).encode())
                _remember(known, level, text)
            parts.append(text)
        return b"[" + b",".join(parts) + b"]"


def depth_snapshot(
    fmt: MarketFormat, bids: list[tuple[int, int]], asks: list[tuple[int, int]], update_id: int, ts_us: int
) -> bytes:
    """The REST depth snapshot as the cache keeps it and the API serves it (JSON): both sides
    ascending by price; ``bids`` come best (highest) first, as the book gives them."""
    return b"".join(
        (
            b'{"bids":',
            fmt.levels_json(reversed(bids)),
            b',"asks":',
            fmt.levels_json(asks),
            b',"lastUpdateId":"%d","timestamp":%d}' % (update_id, ts_us),
        )
    )


def order_object(fmt: MarketFormat, o: dict) -> dict:
    """The wire's order object from an order event dict (``engine.core.codec.event_to_dict``)."""
    return {
        "id": str(o["order_id"]),
        "clientId": o["client_id"],
        "createdAt": o["created_ts"],
        "symbol": fmt.symbol,
        "side": o["side"],
        "orderType": o["order_type"],
        "timeInForce": o["time_in_force"],
        "postOnly": o["post_only"],
        "reduceOnly": None,
        "price": fmt.price(o["price"]),
        "quantity": fmt.quantity(o["quantity"]),
        "quoteQuantity": fmt.quote_amount(o["quote_quantity"]),
        "executedQuantity": fmt.quantity(o["executed_quantity"]),
        "executedQuoteQuantity": fmt.quote_amount(o["executed_quote_quantity"]),
        "status": o["status"],
        "selfTradePrevention": o["self_trade_prevention"],
        # A trigger order's quantity is the quantity it is placed with (Backpack's
        # ``triggerQuantity``), shown as both.
        "triggerPrice": fmt.price(o.get("trigger_price")),
        "triggerQuantity": None if o.get("trigger_price") is None else fmt.quantity(o["quantity"]),
        "relatedOrderId": None,
    }


def order_history_object(fmt: MarketFormat, o: dict) -> dict:
    """An order as the history endpoints show it: the order object with a naive ISO
    ``createdAt``. ``o``: an order event dict, or a history row's fields under the same names."""
    return history_form(order_object(fmt, o), o["created_ts"])


def history_form(order: dict, created_ts: int) -> dict:
    """A rendered order object as the history endpoints show it."""
    return {**order, "createdAt": iso_ms(created_ts)}


def fill_object(
    fmt: MarketFormat,
    *,
    trade_id: int,
    order_id: int,
    side: str,
    price: int,
    quantity: int,
    fee: int,
    fee_asset: str,
    fee_decimals: int,
    is_maker: bool,
    ts: int,
    client_id: int | None,
) -> dict:
    """One of an account's fills as ``/wapi/v1/history/fills`` shows it."""
    return {
        "tradeId": trade_id,
        "orderId": str(order_id),
        "symbol": fmt.symbol,
        "side": side,
        "price": fmt.price(price),
        "quantity": fmt.quantity(quantity),
        "fee": amount(fee, fee_decimals),
        "feeSymbol": fee_asset,
        "isMaker": is_maker,
        "timestamp": iso_ms(ts),
        "clientId": client_id,
    }


def trade_rest(fmt: MarketFormat, t: dict) -> dict:
    """A public trade for ``/api/v1/trades`` from a Trade event dict."""
    return {
        "id": t["trade_id"],
        "price": fmt.price(t["price"]),
        "quantity": fmt.quantity(t["quantity"]),
        "quoteQuantity": fmt.quote_amount(t["quote_quantity"]),
        "timestamp": t["ts"],
        "isBuyerMaker": t["is_buyer_maker"],
    }


def trade_stream(fmt: MarketFormat, t: dict) -> dict:
    us = t["ts"] * 1000
    return {
        "e": "trade",
        "E": us,
        "s": fmt.symbol,
        "p": fmt.price(t["price"]),
        "q": fmt.quantity(t["quantity"]),
        "t": t["trade_id"],
        "m": t["is_buyer_maker"],
        "b": str(t["buyer_order_id"]),
        "a": str(t["seller_order_id"]),
        "T": us,
    }


def depth_stream(fmt: MarketFormat, ts_ms: int, bids: list, asks: list, first_id: int, last_id: int) -> dict:
    """A depth event; ``bids``/``asks`` are (price ticks, total lots) level changes."""
    us = ts_ms * 1000
    return {
        "e": "depth",
        "E": us,
        "s": fmt.symbol,
        "a": fmt.levels(asks),
        "b": fmt.levels(bids),
        "U": first_id,
        "u": last_id,
        "T": us,
    }


def order_update_stream(fmt: MarketFormat, event: dict) -> dict:
    """``account.orderUpdate`` data from an order event dict."""
    kind = {
        "OrderAccepted": "orderAccepted",
        "OrderFilled": "orderFill",
        "OrderCancelled": "orderCancelled",
        "OrderExpired": "orderExpired",
        "OrderTriggered": "triggerPlaced",
        "OrderTriggerFailed": "triggerFailed",
    }[event["type"]]
    us = event["ts"] * 1000
    data = {
        "e": kind,
        "E": us,
        "s": fmt.symbol,
        "c": event["client_id"],
        "S": event["side"],
        "o": event["order_type"].upper(),
        "f": event["time_in_force"],
        "q": fmt.quantity(event["quantity"]),
        "p": fmt.price(event["price"]),
        "X": event["status"],
        "i": str(event["order_id"]),
        "z": fmt.quantity(event["executed_quantity"]),
        "Z": fmt.quote_amount(event["executed_quote_quantity"]),
        "T": us,
    }
    if event.get("trigger_price") is not None:
        data["P"] = fmt.price(event["trigger_price"])
    if kind == "orderFill":
        data.update(
            {
                "l": fmt.quantity(event["fill_quantity"]),
                "L": fmt.price(event["fill_price"]),
                "t": event["trade_id"],
                "n": fmt.quote_amount(event["fee"]),
                "N": event["fee_asset"],
                "m": event["is_maker"],
            }
        )
    return data


def balance_update_stream(asset: str, available: int, locked: int, ts_ms: int, decimals: int) -> dict:
    return {
        "e": "balanceUpdate",
        "E": ts_ms * 1000,
        "a": asset,
        "A": amount(available, decimals),
        "L": amount(locked, decimals),
        "S": "0",
    }


def ticker_rest(fmt: MarketFormat, stats: dict | None) -> dict:
    """``/api/v1/ticker`` from ``engine.ticker.RollingTicker.stats`` (zeros if never traded)."""
    if stats is None:
        stats = {"first": 0, "last": 0, "high": 0, "low": 0, "volume": 0, "quote_volume": 0, "trades": 0}
    first, last = stats["first"], stats["last"]
    change_fraction = (
        plain((Decimal(last - first) / Decimal(first)).quantize(Decimal("0.000001"))) if first else "0"
    )
    return {
        "symbol": fmt.symbol,
        "firstPrice": fmt.price(first),
        "lastPrice": fmt.price(last),
        "high": fmt.price(stats["high"]),
        "low": fmt.price(stats["low"]),
        "volume": fmt.quantity(stats["volume"]),
        "quoteVolume": fmt.quote_amount(stats["quote_volume"]),
        "priceChange": fmt.price(last - first),
        "priceChangePercent": change_fraction,
        "trades": str(stats["trades"]),
    }


def ticker_stream(ticker: dict, ts_ms: int) -> dict:
    """``ticker.<sym>`` data from a rendered REST ticker."""
    return {
        "e": "ticker",
        "E": ts_ms * 1000,
        "s": ticker["symbol"],
        "o": ticker["firstPrice"],
        "c": ticker["lastPrice"],
        "h": ticker["high"],
        "l": ticker["low"],
        "v": ticker["volume"],
        "V": ticker["quoteVolume"],
        "n": int(ticker["trades"]),
    }


def book_ticker_stream(fmt: MarketFormat, ts_ms: int, best_bid, best_ask, update_id: int) -> dict:
    """``bookTicker.<sym>``; ``best_bid``/``best_ask`` are (ticks, lots) or None."""
    us = ts_ms * 1000
    return {
        "e": "bookTicker",
        "E": us,
        "s": fmt.symbol,
        "a": fmt.price(best_ask[0]) if best_ask else None,
        "A": fmt.quantity(best_ask[1]) if best_ask else None,
        "b": fmt.price(best_bid[0]) if best_bid else None,
        "B": fmt.quantity(best_bid[1]) if best_bid else None,
        "u": update_id,
        "T": us,
    }
