"""Placing an order: the checks a ``PlaceOrder`` must pass (market state, fields, the market's
filters, funds, fill-or-kill), its reserve locked, and then resting, matching or expiring.

Everything before the order is accepted only reads; from acceptance on nothing can fail, so a
rejected command changes nothing (``Engine.apply`` relies on it). A trigger order is checked here
as far as it can be before its trigger price is reached and then set aside (``triggers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from .book import Book, BookSide, Level, Order
from .emit import ev_accepted, ev_expired, ev_triggered, mk_balance, mk_depth
from .errors import (
    INSUFFICIENT_FUNDS,
    INVALID_CLIENT_REQUEST,
    INVALID_MARKET,
    INVALID_ORDER,
    INVALID_PRICE,
    INVALID_QUANTITY,
    MAX_CLIENT_ID,
    TRADING_PAUSED,
)
from .ledger import Balance
from .market import Market
from .matching import take
from .messages import (
    ASK,
    BID,
    CANCEL_ONLY,
    CANCELLED,
    EXPIRED,
    FILLED,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    NEW,
    OPEN,
    POST_ONLY,
    REASON_SELF_TRADE,
    REASON_UNFILLED,
    REJECT_BOTH,
    REJECT_MAKER,
    REJECT_TAKER,
)
from .reserves import buy_reserve

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["place", "order_terms", "order_shape_error", "limit_error"]

# Wire strings -> the module's own constants, so the engine can compare by identity.
_SIDES: Final[dict[Any, str]] = {BID: BID, ASK: ASK}
_TYPES: Final[dict[Any, str]] = {LIMIT: LIMIT, MARKET: MARKET}
_TIFS: Final[dict[Any, str]] = {GTC: GTC, IOC: IOC, FOK: FOK}
_STPS: Final[dict[Any, str]] = {
    REJECT_TAKER: REJECT_TAKER,
    REJECT_MAKER: REJECT_MAKER,
    REJECT_BOTH: REJECT_BOTH,
}


def limit_error(m: Market, price: Any, qty: Any) -> tuple[str, str] | None:
    """What is wrong with a limit order's price and quantity on market ``m`` (code, message)."""
    if type(price) is not int or not m.min_price <= price <= m.max_price:
        return INVALID_PRICE, f"price must be an integer in [{m.min_price}, {m.max_price}] ticks"
    return quantity_error(m, qty) or notional_error(m, price * qty * m.quote_per_tick_lot)


def quantity_error(m: Market, qty: Any) -> tuple[str, str] | None:
    if type(qty) is not int or not m.min_quantity <= qty <= m.max_quantity:
        return INVALID_QUANTITY, f"quantity must be an integer in [{m.min_quantity}, {m.max_quantity}] lots"
    return None


def notional_error(m: Market, notional: int) -> tuple[str, str] | None:
    if notional < m.min_notional:
        return INVALID_ORDER, f"order value is below the min notional of {m.min_notional}"
    return None


def order_shape_error(
    m: Market, otype: str, tif: str, post_only: bool, is_bid: bool, price: Any, qty: Any, qq: Any
) -> tuple[str, str] | None:
    """What is wrong with an order's fields on market ``m`` whatever the book holds (code,
    message): a limit order's price, quantity and value; a market order's quantity, or its quote
    budget. What depends on the book (liquidity, post-only, a market order's value) is left to
    the caller."""
    if otype is LIMIT:
        if qq is not None:
            return INVALID_ORDER, "quote_quantity is only for market buy orders"
        err = limit_error(m, price, qty)
        if err is not None:
            return err
        if post_only and tif is not GTC:
            return INVALID_ORDER, "post-only orders must be GTC"
        return None
    if price is not None:
        return INVALID_ORDER, "price is not allowed on a market order"
    if post_only:
        return INVALID_ORDER, "a market order cannot be post-only"
    if qq is None:
        if type(qty) is not int or not m.min_quantity <= qty <= m.max_quantity:
            return (
                INVALID_QUANTITY,
                f"quantity must be an integer in [{m.min_quantity}, {m.max_quantity}] lots",
            )
        return None
    if qty is not None:
        return INVALID_ORDER, "give either quantity or quote_quantity, not both"
    if not is_bid:
        return INVALID_ORDER, "quote_quantity is only for market buy orders"
    if tif is FOK:
        return INVALID_ORDER, "FOK is not supported with quote_quantity"
    if type(qq) is not int or qq <= 0:
        return INVALID_QUANTITY, "quote_quantity must be a positive integer"
    return notional_error(m, qq)


def order_terms(m: Market, otype: str, tif: str) -> tuple[int, str]:
    """``(fee_bps, time in force)`` of an order: a limit order may pay the higher of the two fees
    (its reserve covers it, its fills never exceed it), a market order only takes; market orders
    are immediate-or-cancel unless fill-or-kill."""
    if otype is LIMIT:
        return (m.maker_fee_bps if m.maker_fee_bps > m.taker_fee_bps else m.taker_fee_bps), tif
    return m.taker_fee_bps, (tif if tif is FOK else IOC)


def _enum_error(eng: Engine, c: Any, side, otype, tif, stp) -> list:
    """The rejection for bad enum fields (off the hot path)."""
    if side is None:
        return eng._reject(c, INVALID_ORDER, f"invalid side {c.side!r}")
    if otype is None:
        return eng._reject(c, INVALID_ORDER, f"invalid order type {c.order_type!r}")
    if tif is None:
        return eng._reject(c, INVALID_ORDER, f"invalid time in force {c.time_in_force!r}")
    if stp is None:
        return eng._reject(c, INVALID_ORDER, f"invalid self trade prevention {c.self_trade_prevention!r}")
    return eng._reject(c, INVALID_ORDER, "post_only must be a boolean")


def place(eng: Engine, c: Any, trigger: Order | None = None) -> list:  # noqa: C901 - one flat validation sequence
    """Places ``c`` (a PlaceOrder); ``trigger``: the pending trigger order it places (its id,
    creation time and trigger price carry over), taken off its list and unlocked already."""
    book = eng._books.get(c.market)
    if book is None:
        return eng._reject(c, INVALID_MARKET, f"unknown market {c.market!r}")
    m = book.market
    acct = c.account
    if type(acct) is not int or acct <= 0:
        return eng._reject(c, INVALID_CLIENT_REQUEST, "account must be a positive integer")
    # Normalise the enums to the module's own string objects (compared by identity below);
    # the identity tests are the fast path (the codec interns these fields).
    side = c.side
    if side is not BID and side is not ASK:
        side = _SIDES.get(side)
    otype = c.order_type
    if otype is not LIMIT and otype is not MARKET:
        otype = _TYPES.get(otype)
    tif = c.time_in_force
    if tif is not GTC and tif is not IOC and tif is not FOK:
        tif = _TIFS.get(tif)
    stp = c.self_trade_prevention
    if stp is not REJECT_TAKER and stp is not REJECT_MAKER and stp is not REJECT_BOTH:
        stp = _STPS.get(stp)
    post_only = c.post_only
    state = m.state
    if state is not OPEN:
        if state is POST_ONLY:
            if not (otype is LIMIT and post_only is True):
                return eng._reject(
                    c, TRADING_PAUSED, f"market {m.symbol} accepts only post-only limit orders"
                )
        elif state is CANCEL_ONLY:
            return eng._reject(c, TRADING_PAUSED, f"market {m.symbol} accepts only cancels")
        else:
            return eng._reject(c, TRADING_PAUSED, f"market {m.symbol} is halted")
    if (
        side is None
        or otype is None
        or tif is None
        or stp is None
        or (post_only is not False and post_only is not True)
    ):
        return _enum_error(eng, c, side, otype, tif, stp)
    cid = c.client_id
    if cid is not None:
        if type(cid) is not int or not 0 <= cid <= MAX_CLIENT_ID:
            return eng._reject(c, INVALID_ORDER, "client_id must be a uint32")
        if (acct << 32 | cid) in eng._client_ids:
            return eng._reject(c, INVALID_ORDER, f"client_id {cid} is already used by an open order")
    if c.trigger_price is not None:
        from .triggers import place_trigger  # (triggers places through this module)

        return place_trigger(eng, c, book, acct, side, otype, tif, stp, post_only, cid)
    price = c.price
    qty = c.quantity
    qq = c.quote_quantity
    is_bid = side is BID
    err = order_shape_error(m, otype, tif, post_only, is_bid, price, qty, qq)
    if err is not None:
        return eng._reject(c, err[0], err[1])
    fee_bps, tif = order_terms(m, otype, tif)
    k = m.quote_per_tick_lot
    opp_side = book.asks if is_bid else book.bids
    budget = False
    if otype is LIMIT:
        if post_only:
            opp = opp_side.best
            if opp is not None and (price >= opp if is_bid else price <= opp):
                return eng._reject(c, INVALID_ORDER, "post-only order would take liquidity")
        if is_bid:
            need = buy_reserve(price * qty * k, fee_bps)
            asset = m.quote
        else:
            need = qty * m.base_per_lot
            asset = m.base
    elif qq is not None:
        if opp_side.best is None:
            return eng._reject(c, INVALID_ORDER, "no liquidity")
        need = qq
        asset = m.quote
        budget = True
    else:
        best = opp_side.best
        if best is None:
            return eng._reject(c, INVALID_ORDER, "no liquidity")
        err = notional_error(m, best * qty * k)
        if err is not None:
            return eng._reject(c, err[0], err[1])
        if is_bid or tif is FOK:
            filled, cost = _walk(opp_side, acct, stp, None, qty, k, fee_bps)
            if tif is FOK and filled < qty:
                return eng._reject(c, INVALID_ORDER, "FOK order cannot be filled completely")
        if is_bid:
            need = cost  # the exact cost (fees included) of the part the book can fill
            asset = m.quote
        else:
            need = qty * m.base_per_lot
            asset = m.base
    acc = eng.ledger.accounts.get(acct)
    bal = None if acc is None else acc.get(asset)
    if bal is None or bal.available < need:
        # a market buy with only the account's own orders in reach has nothing to lock: accepted
        if not (bal is None and need == 0 and acc is not None):
            return eng._reject(c, INSUFFICIENT_FUNDS, f"insufficient available {asset}")
    if otype is LIMIT and tif is FOK:
        if _walk(opp_side, acct, stp, price, qty, k, m.taker_fee_bps)[0] < qty:
            return eng._reject(c, INVALID_ORDER, "FOK order cannot be filled completely")

    # ---- accepted: from here on nothing can fail ----------------------------------------
    ts = c.ts
    prio = eng._last_order_id + 1
    eng._last_order_id = prio
    if trigger is None:
        oid = prio
        created = ts
        trigger_price = None
    else:
        oid = trigger.order_id
        created = trigger.created_ts
        trigger_price = trigger.trigger_price
    o = Order(oid, acct, m.symbol, side, otype, tif, post_only, stp, cid, price, qty, qq, qty, 0, 0, NEW,
              created, fee_bps, trigger_price, prio)  # fmt: skip
    seq = eng._seq + 1
    first = ev_accepted(seq, ts, o) if trigger is None else ev_triggered(seq, ts, o)
    if bal is None:
        bal = eng.ledger.entry(acct, asset)
    bal.lock(need)
    best = opp_side.best
    if best is None or (price is not None and (best > price if is_bid else best < price)):
        # fast path: nothing to match (the common case for a limit order)
        if tif is GTC:
            level = _rest(eng, book, o)
            uid = book.update_id + 1
            book.update_id = uid
            eng._seq = seq + 2
            return [
                first,
                mk_depth(seq + 1, ts, book.symbol, level.side, level.price, level.total, uid),
                mk_balance(seq + 2, ts, acct, asset, bal.available, bal.locked),
            ]
        o.status = EXPIRED
        bal.unlock(need)
        eng._seq = seq + 2
        return [
            first,
            ev_expired(seq + 1, ts, o, REASON_UNFILLED),
            mk_balance(seq + 2, ts, acct, asset, bal.available, bal.locked),
        ]
    events: list = [first]
    touched: dict[Balance, None] = {bal: None}
    tlevels: dict[Level, None] = {}
    traded_before = book.last_trade_id
    seq, reserve, stopped = take(eng, book, o, price, budget, need, seq, ts, events, touched, tlevels)
    # ---- the taker's fate ------------------------------------------------------------------
    rests = False
    if stopped:  # self-trade prevention stopped it
        o.status = EXPIRED
        seq += 1
        events.append(ev_expired(seq, ts, o, REASON_SELF_TRADE))
    elif o.status is not FILLED:
        if tif is GTC:
            rests = True  # its remaining reserve stays locked
            tlevels[_rest(eng, book, o)] = None
        else:
            o.status = EXPIRED
            seq += 1
            events.append(ev_expired(seq, ts, o, REASON_UNFILLED))
    if reserve and not rests:
        bal.unlock(reserve)
    events = eng._finish(events, seq, ts, book, tlevels, touched)
    if (
        trigger is None
        and book.last_trade_id != traded_before
        and (book.triggers_above or book.triggers_below)
    ):
        from .triggers import fire  # (triggers places its orders through this module)

        fire(eng, book, events, ts)  # fired orders' own trades move on to other triggers there
    return events


def _rest(eng: Engine, book: Book, o: Order) -> Level:
    """Puts open order ``o`` on its book and in the engine's indexes; returns its level."""
    eng._index(o)
    return (book.bids if o.side is BID else book.asks).add(o)


def _walk(
    opp: BookSide, acct: int, stp: str, limit: int | None, qty: int, k: int, t_bps: int
) -> tuple[int, int]:
    """Dry run of a taker against ``opp`` (the opposite side): ``(lots it would fill up to qty,
    their quote cost including the taker fee of each fill)``, honouring self-trade prevention
    (``RejectMaker`` skips own orders, the other modes stop at one). Changes nothing."""
    filled = 0
    cost = 0
    levels = opp.levels
    is_bid_side = opp.is_bid
    for p in reversed(opp.prices) if is_bid_side else opp.prices:
        if limit is not None and (p < limit if is_bid_side else p > limit):
            break
        unit = p * k
        for mo in levels[p].orders:
            if mo.status is CANCELLED:
                continue
            if mo.account == acct:
                if stp is REJECT_MAKER:
                    continue
                return filled, cost
            f = qty - filled
            mrem: int = mo.remaining  # type: ignore[assignment]  # a resting order's
            if mrem < f:
                f = mrem
            cost += buy_reserve(unit * f, t_bps)
            filled += f
            if filled == qty:
                return filled, cost
    return filled, cost
