"""Order book data structures: orders, FIFO price levels and the two sides of a market's book.

A side keeps its levels in a dict ``price -> Level`` plus a ``SortedList`` of the prices, and caches
its best price. A level is a ``deque`` of orders in arrival order with a running total of the
remaining quantity. Cancelling an order from the middle of a level is O(1): the order is marked
``Cancelled``, the total is reduced and the dead entry is skipped (and dropped) when it reaches
the front; a level with too many dead entries is compacted, so memory stays proportional to the
live orders.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Final

from sortedcontainers import SortedList

from .market import Market
from .messages import ASK, BID, CANCELLED, OrderEvent

__all__ = ["Order", "Level", "BookSide", "Book", "order_view", "ORDER_VIEW_FIELDS", "ORDER_ATTRS"]

# Compact a level once it holds more than this many dead entries and they outnumber the live ones.
_COMPACT_MIN_DEAD: Final = 32

# An order as its events carry it: ``OrderEvent``'s fields but ``seq`` and ``ts``.
ORDER_VIEW_FIELDS = tuple(f.name for f in dataclasses.fields(OrderEvent) if f.name not in ("seq", "ts"))
# ``ORDER_VIEW_FIELDS`` -> the ``Order`` attribute holding each
_RENAMED = {
    "self_trade_prevention": "stp",
    "executed_quantity": "executed",
    "executed_quote_quantity": "executed_quote",
}
ORDER_ATTRS = {name: _RENAMED.get(name, name) for name in ORDER_VIEW_FIELDS}


class Order:
    """One order. ``remaining`` is in lots (``None`` only for a market buy by quote budget, which
    never rests). ``fee_bps`` is the fee rate the order's reserve was computed with; the fee it
    pays on a fill is never above it, so a later fee increase cannot make its lock insufficient.
    ``priority`` orders a level: the order's id, or for a trigger order the id drawn when it was
    placed (``None`` while its trigger is pending; ``trigger_price`` then says where it fires).
    """

    __slots__ = (
        "order_id",
        "account",
        "market",
        "side",
        "order_type",
        "time_in_force",
        "post_only",
        "stp",
        "client_id",
        "price",
        "quantity",
        "quote_quantity",
        "remaining",
        "executed",
        "executed_quote",
        "status",
        "created_ts",
        "fee_bps",
        "trigger_price",
        "priority",
    )

    def __init__(
        self,
        order_id: int,
        account: int,
        market: str,
        side: str,
        order_type: str,
        time_in_force: str,
        post_only: bool,
        stp: str,
        client_id: int | None,
        price: int | None,
        quantity: int | None,
        quote_quantity: int | None,
        remaining: int | None,
        executed: int,
        executed_quote: int,
        status: str,
        created_ts: int,
        fee_bps: int,
        trigger_price: int | None,
        priority: int | None,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.post_only = post_only
        self.stp = stp
        self.client_id = client_id
        self.price = price
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.remaining = remaining
        self.executed = executed
        self.executed_quote = executed_quote
        self.status = status
        self.created_ts = created_ts
        self.fee_bps = fee_bps
        self.trigger_price = trigger_price
        self.priority = priority

    def view(self) -> dict:
        """The order as ``OrderEvent``'s fields (minus ``seq``/``ts``)."""
        return order_view(self)

    def __repr__(self) -> str:
        return (
            f"Order(id={self.order_id}, acct={self.account}, {self.market} {self.side} {self.order_type} "
            f"px={self.price} qty={self.quantity} rem={self.remaining} {self.status})"
        )


def order_view(o: Order) -> dict:
    """``OrderEvent``'s field names (minus ``seq``/``ts``) -> values, for an order."""
    return {
        "order_id": o.order_id,
        "account": o.account,
        "market": o.market,
        "side": o.side,
        "order_type": o.order_type,
        "time_in_force": o.time_in_force,
        "post_only": o.post_only,
        "self_trade_prevention": o.stp,
        "client_id": o.client_id,
        "price": o.price,
        "quantity": o.quantity,
        "quote_quantity": o.quote_quantity,
        "executed_quantity": o.executed,
        "executed_quote_quantity": o.executed_quote,
        "status": o.status,
        "created_ts": o.created_ts,
        "fee_bps": o.fee_bps,
        "trigger_price": o.trigger_price,
        "priority": o.priority,
    }


class Level:
    """A price level: FIFO of orders, total remaining lots of its live orders, count of dead
    (cancelled, not yet dropped) entries in the deque."""

    __slots__ = ("price", "side", "orders", "total", "dead")

    def __init__(self, price: int, side: str) -> None:
        self.price = price
        self.side = side
        self.orders: deque[Order] = deque()
        self.total = 0
        self.dead = 0

    def compact(self) -> None:
        self.orders = deque(o for o in self.orders if o.status is not CANCELLED)
        self.dead = 0

    def __repr__(self) -> str:
        return f"Level({self.side} {self.price} x {self.total})"


class BookSide:
    """One side of a book. ``best`` is the best price (highest bid / lowest ask) or ``None``."""

    __slots__ = ("side", "is_bid", "levels", "prices", "best")

    def __init__(self, side: str) -> None:
        self.side = side
        self.is_bid = side == BID
        self.levels: dict[int, Level] = {}
        self.prices = SortedList()
        self.best: int | None = None

    def add(self, order: Order) -> Level:
        """Appends a resting order at the back of its price level (creating the level)."""
        price: int = order.price  # type: ignore[assignment]  # a resting order has a price
        level = self.levels.get(price)
        if level is None:
            level = Level(price, self.side)
            self.levels[price] = level
            self.prices.add(price)
            best = self.best
            if best is None or (price > best if self.is_bid else price < best):
                self.best = price
        else:
            order.price = level.price  # share one int object per level (memory)
        level.orders.append(order)
        level.total += order.remaining  # type: ignore[operator]
        return level

    def remove_level(self, level: Level) -> None:
        price = level.price
        del self.levels[price]
        prices = self.prices
        prices.remove(price)
        if price == self.best:
            if prices:
                self.best = prices[-1] if self.is_bid else prices[0]
            else:
                self.best = None

    def unlink(self, order: Order, level: Level) -> None:
        """Takes a live order (whose status the caller has already set to ``Cancelled``) out of
        ``level``; drops the level when it becomes empty."""
        level.total -= order.remaining  # type: ignore[operator]
        if level.total == 0:
            self.remove_level(level)
            return
        q = level.orders
        if q[-1] is order:
            q.pop()
        elif q[0] is order:
            q.popleft()
        else:
            level.dead += 1
            if level.dead > _COMPACT_MIN_DEAD and level.dead * 2 > len(q):
                level.compact()

    def depth(self, limit: int | None = None) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        levels = self.levels
        prices = reversed(self.prices) if self.is_bid else iter(self.prices)
        for p in prices:
            if limit is not None and len(out) >= limit:
                break
            out.append((p, levels[p].total))
        return out


class Book:
    """A market's two sides, its counters (trade ids, depth update ids), the price of its last
    trade, and its pending trigger orders.

    A trigger fires when the last price reaches its trigger price from the side the last price
    was on when it was placed. While it is pending the last price has not reached it, so that
    side is still the side the last price is on: triggers above the last price wait in
    ``triggers_above`` (keys ``(trigger price, order id)``: the lowest fires first, as a rising
    price reaches it first), those below in ``triggers_below`` (keys ``(-trigger price, order
    id)``: the highest first)."""

    __slots__ = (
        "market",
        "symbol",
        "bids",
        "asks",
        "last_trade_id",
        "update_id",
        "last_price",
        "triggers_above",
        "triggers_below",
    )

    def __init__(self, market: Market) -> None:
        self.market = market  # the engine's Market object (updated in place)
        self.symbol = market.symbol
        self.bids = BookSide(BID)
        self.asks = BookSide(ASK)
        self.last_trade_id = 0
        self.update_id = 0
        self.last_price: int | None = None  # ticks; None until the market's first trade
        self.triggers_above = SortedList()
        self.triggers_below = SortedList()

    def add_trigger(self, order: Order) -> None:
        """A pending trigger order, on the side of the last price its trigger price is on."""
        tp: int = order.trigger_price  # type: ignore[assignment]
        last: int = self.last_price  # type: ignore[assignment]  # a trigger needs a last price
        if tp > last:
            self.triggers_above.add((tp, order.order_id))
        else:
            self.triggers_below.add((-tp, order.order_id))

    def remove_trigger(self, order: Order) -> None:
        tp: int = order.trigger_price  # type: ignore[assignment]
        key = (tp, order.order_id)
        above = self.triggers_above
        if key in above:
            above.remove(key)
        else:
            self.triggers_below.remove((-tp, order.order_id))

    def next_fired(self) -> int | None:
        """The id of the next trigger the last price has reached, taken off its list; None when
        none has."""
        last = self.last_price
        if last is None:
            return None
        above = self.triggers_above
        if above and above[0][0] <= last:
            return above.pop(0)[1]
        below = self.triggers_below
        if below and -below[0][0] >= last:
            return below.pop(0)[1]
        return None
