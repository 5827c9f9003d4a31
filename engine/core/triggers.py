"""Trigger orders: set aside with what they will need locked (status ``TriggerPending``) until
the market's last trade price reaches their trigger price, then placed as any order is, within
the command whose trade moved the price, one at a time in the order the price reached them, each
able to move the price on to others (``fire``). One that cannot be placed then (funds, the
market's filters or state) closes ``TriggerFailed`` with its funds unlocked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .book import Book, Order
from .emit import ev_accepted, ev_trigger_failed, mk_balance
from .errors import INSUFFICIENT_FUNDS, INVALID_ORDER, INVALID_PRICE
from .messages import BID, LIMIT, TRIGGER_FAILED, TRIGGER_PENDING, PlaceOrder, Rejected
from .placement import notional_error, order_shape_error, order_terms, place
from .reserves import trigger_reserve

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["place_trigger", "fire"]


def place_trigger(
    eng: Engine,
    c: Any,
    book: Book,
    acct: int,
    side: str,
    otype: str,
    tif: str,
    stp: str,
    post_only: bool,
    cid: int | None,
) -> list:
    """A trigger order (``c``, checked by ``placement.place`` up to its trigger price): checked
    as far as it can be before its trigger price is reached (what depends on the book then, such
    as post-only or fill-or-kill, is checked when it is placed), its reserve locked, set aside
    on its book's trigger list."""
    m = book.market
    tp = c.trigger_price
    if type(tp) is not int or not m.min_price <= tp <= m.max_price:
        return eng._reject(
            c, INVALID_PRICE, f"trigger price must be an integer in [{m.min_price}, {m.max_price}] ticks"
        )
    last = book.last_price
    if last is None:
        return eng._reject(c, INVALID_ORDER, f"no trade in {m.symbol} yet: a trigger needs a last price")
    if tp == last:
        return eng._reject(c, INVALID_ORDER, "the trigger price is the last price: place the order")
    price = c.price
    qty = c.quantity
    qq = c.quote_quantity
    err = order_shape_error(m, otype, tif, post_only, side is BID, price, qty, qq)
    if err is None and otype is not LIMIT and qq is None:
        err = notional_error(m, tp * qty * m.quote_per_tick_lot)  # valued at its trigger price
    if err is not None:
        return eng._reject(c, err[0], err[1])
    fee_bps, tif = order_terms(m, otype, tif)
    ts = c.ts
    o = Order(0, acct, m.symbol, side, otype, tif, post_only, stp, cid, price, qty, qq, qty, 0, 0,
              TRIGGER_PENDING, ts, fee_bps, tp, None)  # fmt: skip
    asset, need = trigger_reserve(o, m)
    acc = eng.ledger.accounts.get(acct)
    bal = None if acc is None else acc.get(asset)
    if bal is None or bal.available < need:
        return eng._reject(c, INSUFFICIENT_FUNDS, f"insufficient available {asset}")
    # ---- accepted
    oid = eng._last_order_id + 1
    eng._last_order_id = oid
    o.order_id = oid
    bal.lock(need)
    eng._index(o)
    book.add_trigger(o)
    seq = eng._seq
    eng._seq = seq + 2
    return [ev_accepted(seq + 1, ts, o), mk_balance(seq + 2, ts, acct, asset, bal.available, bal.locked)]


def fire(eng: Engine, book: Book, events: list, ts: int) -> None:
    """Places the trigger orders of ``book`` that its last price has reached, appending their
    events to ``events`` (the command's, after its own): one at a time, in the order the price
    reached them, each of which may trade and move the price on to others."""
    while True:
        oid = book.next_fired()
        if oid is None:
            break
        o = eng._orders[oid]
        asset, amount = trigger_reserve(o, book.market)
        bal = eng.ledger.accounts[o.account][asset]
        bal.unlock(amount)
        eng._drop(o)
        command = PlaceOrder(
            ts=ts,
            account=o.account,
            market=o.market,
            side=o.side,
            order_type=o.order_type,
            quantity=o.quantity,
            price=o.price,
            quote_quantity=o.quote_quantity,
            time_in_force=o.time_in_force,
            post_only=o.post_only,
            self_trade_prevention=o.stp,
            client_id=o.client_id,
        )
        placed = place(eng, command, o)
        first = placed[0]
        if type(first) is Rejected:
            # Refused (funds, filters, the market's state): it closes, its funds unlocked. Its
            # event takes the seq the refusal took.
            o.status = TRIGGER_FAILED
            seq = eng._seq
            events.append(ev_trigger_failed(seq, ts, o, first.code))
            seq += 1
            events.append(mk_balance(seq, ts, o.account, asset, bal.available, bal.locked))
            eng._seq = seq
        else:
            events.extend(placed)
