"""What an order keeps locked, and why that is always enough.

Units: prices in ticks, quantities in lots, amounts in asset units (see ``units``). The notional
of ``q`` lots at ``p`` ticks is ``p * q * market.quote_per_tick_lot`` quote units.

Fees are charged in the QUOTE asset on both sides: the buyer pays notional + fee, the seller
receives notional - fee; both fees go to ``FEE_ACCOUNT``. The fee of one fill is
``floor(fill_notional * bps / 10000)``: rounded DOWN, in the trader's favour. Rounding down is
also what keeps every lock sufficient: ``floor`` is superadditive
(``floor(a) + floor(b) <= floor(a + b)``), so the fees of the fills of an order never add up to
more than the fee on its whole notional, which is what the order locked. A buy order's reserve for
``r`` remaining lots at limit price ``P`` is ``R(r) = N(P, r) + floor(N(P, r) * bps / 10000)``
(``buy_reserve``) with ``bps = max(maker, taker)`` at placement (stored on the order as
``fee_bps``; the fee charged on a fill never exceeds it). A fill of ``f`` lots at ``p <= P`` costs
``N(p, f) + floor(N(p, f) * b / 10000) <= N(P, f) + floor(N(P, f) * bps / 10000) <= R(r) - R(r - f)``,
so after each fill the reserve is recomputed as ``R(r - f)`` and the (non-negative) excess is
unlocked; that excess is the price improvement plus the fee rounding. A sell order's reserve is
``r * base_per_lot`` in the base asset.

Invariant after every command: for each account and asset, ``locked`` equals the sum of the
reserves (``order_reserve``) of the account's open orders (resting or pending) in that asset.
"""

from __future__ import annotations

from .book import Order
from .market import Market
from .messages import ASK, BID, TRIGGER_PENDING

__all__ = ["buy_reserve", "order_reserve", "trigger_reserve", "affordable"]


def buy_reserve(notional: int, bps: int) -> int:
    """A notional plus its fee at ``bps``, rounded down: what a buy of that notional locks."""
    return notional + notional * bps // 10000


def order_reserve(order: Order, market: Market) -> tuple[str, int]:
    """``(asset, amount)`` an open order keeps locked: for a resting buy ``R(remaining)`` in
    quote, for a resting sell ``remaining * base_per_lot`` in base; for a pending trigger order
    what it will need when placed (``trigger_reserve``)."""
    if order.status is TRIGGER_PENDING:
        return trigger_reserve(order, market)
    rem: int = order.remaining  # type: ignore[assignment]  # a resting order has both
    if order.side is BID:
        price: int = order.price  # type: ignore[assignment]
        return market.quote, buy_reserve(price * rem * market.quote_per_tick_lot, order.fee_bps)
    return market.base, rem * market.base_per_lot


def trigger_reserve(order: Order, market: Market) -> tuple[str, int]:
    """What a pending trigger order locks: a sell its quantity in base; a buy its budget, or
    ``R(quantity)`` at its limit price (a market buy: at its trigger price, the price it is
    expected to meet) with its fee rate."""
    if order.quote_quantity is not None:  # a market buy by budget: no quantity
        return market.quote, order.quote_quantity
    # (read only now: compiled, an ``int`` local refuses the budget order's None)
    qty: int = order.quantity  # type: ignore[assignment]
    if order.side is ASK:
        return market.base, qty * market.base_per_lot
    price: int = order.price if order.price is not None else order.trigger_price  # type: ignore[assignment]
    return market.quote, buy_reserve(price * qty * market.quote_per_tick_lot, order.fee_bps)


def affordable(unit: int, budget: int, bps: int) -> int:
    """Most lots ``q`` with ``buy_reserve(unit*q, bps) <= budget`` (``unit`` = quote per lot)."""
    if budget <= 0:
        return 0
    q = budget * 10000 // (unit * (10000 + bps))  # feasible: its cost is at most budget
    while buy_reserve(unit * (q + 1), bps) <= budget:  # the floor in the fee can admit a lot or so more
        q += 1
    return q
