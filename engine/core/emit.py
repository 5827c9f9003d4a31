"""Event construction for the hot path: the ``OrderEvent`` of an ``Order``, and the trade, depth
and balance events from their fields.

Compiled (mypyc), a helper's keyword call is a direct C call to the event's constructor. In plain
Python the event dataclasses are keyword-only and binding ~20 keyword arguments costs more than
building the object, so the helpers are replaced (end of this module) by constructors generated
here from the dataclass fields. Both produce exactly the objects ``cls(**fields)`` would (the
messages have no defaults or ``__post_init__`` to run; a test checks equality).
"""

from __future__ import annotations

import dataclasses
from types import FunctionType

from .book import ORDER_ATTRS, Order
from .messages import (
    BalanceChanged,
    DepthChanged,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderTriggered,
    OrderTriggerFailed,
    Trade,
)

__all__ = [
    "ev_accepted",
    "ev_cancelled",
    "ev_expired",
    "ev_filled",
    "ev_triggered",
    "ev_trigger_failed",
    "mk_trade",
    "mk_depth",
    "mk_balance",
    "COMPILED",
]


def _field_names(cls) -> list[str]:
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__: cannot bypass __init__")
    return [f.name for f in dataclasses.fields(cls)]


def _compile(name: str, src: str, cls):
    ns = {"_new": object.__new__, "_cls": cls}
    exec(compile(src, f"<engine.core generated {name}>", "exec"), ns)  # noqa: S102 - trusted, generated
    return ns[name]


def positional_factory(cls):
    """``make(*values)`` building ``cls`` from all its fields in declaration order."""
    names = _field_names(cls)
    body = "".join(f"    s.{n} = {n}\n" for n in names)
    src = f"def make({', '.join(names)}):\n    s = _new(_cls)\n{body}    return s\n"
    return _compile("make", src, cls)


def order_event_factory(cls):
    """``make(seq, ts, order, *extra)`` building an ``OrderEvent`` subclass from an ``Order``."""
    names = _field_names(cls)
    extra = [n for n in names if n not in ORDER_ATTRS and n not in ("seq", "ts")]
    body = "".join(
        f"    s.{n} = o.{ORDER_ATTRS[n]}\n" if n in ORDER_ATTRS else f"    s.{n} = {n}\n" for n in names
    )
    src = f"def make(seq, ts, o, {', '.join(extra)}):\n    s = _new(_cls)\n{body}    return s\n".replace(
        ", ):", "):"
    )
    return _compile("make", src, cls)


def ev_accepted(seq: int, ts: int, o: Order) -> OrderAccepted:
    return OrderAccepted(
        seq=seq,
        ts=ts,
        order_id=o.order_id,
        account=o.account,
        market=o.market,
        side=o.side,
        order_type=o.order_type,
        time_in_force=o.time_in_force,
        post_only=o.post_only,
        self_trade_prevention=o.stp,
        client_id=o.client_id,
        price=o.price,
        quantity=o.quantity,
        quote_quantity=o.quote_quantity,
        executed_quantity=o.executed,
        executed_quote_quantity=o.executed_quote,
        status=o.status,
        created_ts=o.created_ts,
        fee_bps=o.fee_bps,
        trigger_price=o.trigger_price,
        priority=o.priority,
    )


def ev_cancelled(seq: int, ts: int, o: Order, reason: str) -> OrderCancelled:
    return OrderCancelled(
        seq=seq,
        ts=ts,
        order_id=o.order_id,
        account=o.account,
        market=o.market,
        side=o.side,
        order_type=o.order_type,
        time_in_force=o.time_in_force,
        post_only=o.post_only,
        self_trade_prevention=o.stp,
        client_id=o.client_id,
        price=o.price,
        quantity=o.quantity,
        quote_quantity=o.quote_quantity,
        executed_quantity=o.executed,
        executed_quote_quantity=o.executed_quote,
        status=o.status,
        created_ts=o.created_ts,
        fee_bps=o.fee_bps,
        trigger_price=o.trigger_price,
        priority=o.priority,
        reason=reason,
    )


def ev_expired(seq: int, ts: int, o: Order, reason: str) -> OrderExpired:
    return OrderExpired(
        seq=seq,
        ts=ts,
        order_id=o.order_id,
        account=o.account,
        market=o.market,
        side=o.side,
        order_type=o.order_type,
        time_in_force=o.time_in_force,
        post_only=o.post_only,
        self_trade_prevention=o.stp,
        client_id=o.client_id,
        price=o.price,
        quantity=o.quantity,
        quote_quantity=o.quote_quantity,
        executed_quantity=o.executed,
        executed_quote_quantity=o.executed_quote,
        status=o.status,
        created_ts=o.created_ts,
        fee_bps=o.fee_bps,
        trigger_price=o.trigger_price,
        priority=o.priority,
        reason=reason,
    )


def ev_triggered(seq: int, ts: int, o: Order) -> OrderTriggered:
    return OrderTriggered(
        seq=seq,
        ts=ts,
        order_id=o.order_id,
        account=o.account,
        market=o.market,
        side=o.side,
        order_type=o.order_type,
        time_in_force=o.time_in_force,
        post_only=o.post_only,
        self_trade_prevention=o.stp,
        client_id=o.client_id,
        price=o.price,
        quantity=o.quantity,
        quote_quantity=o.quote_quantity,
        executed_quantity=o.executed,
        executed_quote_quantity=o.executed_quote,
        status=o.status,
        created_ts=o.created_ts,
        fee_bps=o.fee_bps,
        trigger_price=o.trigger_price,
        priority=o.priority,
    )


def ev_trigger_failed(seq: int, ts: int, o: Order, reason: str) -> OrderTriggerFailed:
    return OrderTriggerFailed(
        seq=seq,
        ts=ts,
        order_id=o.order_id,
        account=o.account,
        market=o.market,
        side=o.side,
        order_type=o.order_type,
        time_in_force=o.time_in_force,
        post_only=o.post_only,
        self_trade_prevention=o.stp,
        client_id=o.client_id,
        price=o.price,
        quantity=o.quantity,
        quote_quantity=o.quote_quantity,
        executed_quantity=o.executed,
        executed_quote_quantity=o.executed_quote,
        status=o.status,
        created_ts=o.created_ts,
        fee_bps=o.fee_bps,
        trigger_price=o.trigger_price,
        priority=o.priority,
        reason=reason,
    )


def ev_filled(
    seq: int,
    ts: int,
    o: Order,
    trade_id: int,
    fill_price: int,
    fill_quantity: int,
    fill_quote_quantity: int,
    fee: int,
    fee_asset: str,
    is_maker: bool,
) -> OrderFilled:
    return OrderFilled(
        seq=seq,
        ts=ts,
        order_id=o.order_id,
        account=o.account,
        market=o.market,
        side=o.side,
        order_type=o.order_type,
        time_in_force=o.time_in_force,
        post_only=o.post_only,
        self_trade_prevention=o.stp,
        client_id=o.client_id,
        price=o.price,
        quantity=o.quantity,
        quote_quantity=o.quote_quantity,
        executed_quantity=o.executed,
        executed_quote_quantity=o.executed_quote,
        status=o.status,
        created_ts=o.created_ts,
        fee_bps=o.fee_bps,
        trigger_price=o.trigger_price,
        priority=o.priority,
        trade_id=trade_id,
        fill_price=fill_price,
        fill_quantity=fill_quantity,
        fill_quote_quantity=fill_quote_quantity,
        fee=fee,
        fee_asset=fee_asset,
        is_maker=is_maker,
    )


def mk_trade(
    seq: int,
    ts: int,
    market: str,
    trade_id: int,
    price: int,
    quantity: int,
    quote_quantity: int,
    buyer_order_id: int,
    seller_order_id: int,
    buyer_account: int,
    seller_account: int,
    is_buyer_maker: bool,
    buyer_fee: int,
    seller_fee: int,
    fee_asset: str,
) -> Trade:
    return Trade(
        seq=seq,
        ts=ts,
        market=market,
        trade_id=trade_id,
        price=price,
        quantity=quantity,
        quote_quantity=quote_quantity,
        buyer_order_id=buyer_order_id,
        seller_order_id=seller_order_id,
        buyer_account=buyer_account,
        seller_account=seller_account,
        is_buyer_maker=is_buyer_maker,
        buyer_fee=buyer_fee,
        seller_fee=seller_fee,
        fee_asset=fee_asset,
    )


def mk_depth(
    seq: int, ts: int, market: str, side: str, price: int, quantity: int, update_id: int
) -> DepthChanged:
    return DepthChanged(
        seq=seq, ts=ts, market=market, side=side, price=price, quantity=quantity, update_id=update_id
    )


def mk_balance(seq: int, ts: int, account: int, asset: str, available: int, locked: int) -> BalanceChanged:
    return BalanceChanged(seq=seq, ts=ts, account=account, asset=asset, available=available, locked=locked)


COMPILED = type(mk_balance) is not FunctionType  # True when this module was built with mypyc
if not COMPILED:
    globals().update(
        ev_accepted=order_event_factory(OrderAccepted),
        ev_cancelled=order_event_factory(OrderCancelled),
        ev_expired=order_event_factory(OrderExpired),
        ev_filled=order_event_factory(OrderFilled),
        ev_triggered=order_event_factory(OrderTriggered),
        ev_trigger_failed=order_event_factory(OrderTriggerFailed),
        mk_trade=positional_factory(Trade),
        mk_depth=positional_factory(DepthChanged),
        mk_balance=positional_factory(BalanceChanged),
    )
