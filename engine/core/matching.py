"""Matching: a taker order against the opposite side of its book, best price first and in time
order within a level, settling each fill through ``ledger.settle_fill``.

This loop is the hot path: it keeps what it reads often in local variables and resolves the
taker's balances once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .book import Book, Level, Order
from .cancels import cancel_order
from .emit import ev_filled, mk_trade
from .ledger import Balance, settle_fill
from .messages import (
    BID,
    CANCELLED,
    FEE_ACCOUNT,
    FILLED,
    PARTIALLY_FILLED,
    REASON_SELF_TRADE,
    REJECT_BOTH,
    REJECT_TAKER,
)
from .reserves import affordable, buy_reserve

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["take"]


def take(  # noqa: C901 - the hot loop, written out flat
    eng: Engine,
    book: Book,
    o: Order,
    limit: int | None,
    budget: bool,
    reserve: int,
    seq: int,
    ts: int,
    events: list,
    touched: dict[Balance, None],
    tlevels: dict[Level, None],
) -> tuple[int, int, bool]:
    """Matches ``o`` against the other side of ``book``. ``limit``: its price (``None`` for a
    market order); ``budget``: True for a market buy by quote budget; ``reserve``: what it has
    locked. Returns ``(seq, reserve left locked, whether self-trade prevention stopped it)``."""
    is_bid = o.side is BID
    opp = book.asks if is_bid else book.bids
    next_best = opp.best
    if next_best is None or (limit is not None and (next_best > limit if is_bid else next_best < limit)):
        return seq, reserve, False
    best: int = next_best
    has_limit = limit is not None
    lim: int = limit if limit is not None else 0
    levels = opp.levels
    m = book.market
    k = m.quote_per_tick_lot
    bpl = m.base_per_lot
    base = m.base
    quote = m.quote
    mk_bps = m.maker_fee_bps
    cap = o.fee_bps
    t_bps = m.taker_fee_bps
    if t_bps > cap:
        t_bps = cap
    acct = o.account
    ledger = eng.ledger
    tacc = ledger.accounts[acct]
    # the taker's balance it locked in, and the one it receives in (created at its first fill)
    t_locked = tacc[quote if is_bid else base]
    t_gets: Balance | None = None
    fee_bal: Balance | None = None
    sym = book.symbol
    stp = o.stp
    rem: int = 0 if budget else o.remaining  # type: ignore[assignment]  # None for a budget order
    oid = o.order_id
    trade_id = book.last_trade_id
    last_px = 0  # the price of the last trade made here
    stopped = False
    done = False
    while True:
        level = levels[best]
        q = level.orders
        unit = best * k
        changed = False
        while q:
            mo = q[0]
            if mo.status is CANCELLED:
                q.popleft()
                level.dead -= 1
                continue
            if mo.account == acct:  # self-trade prevention
                if stp is REJECT_TAKER:
                    stopped = True
                    break
                changed = True
                seq = cancel_order(eng, mo, book, REASON_SELF_TRADE, seq, ts, events, tlevels, touched)
                if stp is REJECT_BOTH:
                    stopped = True
                    break
                continue
            mrem: int = mo.remaining  # type: ignore[assignment]  # a resting order's
            if budget:
                f = affordable(unit, reserve, t_bps)
                if f == 0:
                    done = True
                    break
                if f > mrem:
                    f = mrem
            elif rem < mrem:
                f = rem
            else:
                f = mrem
            changed = True
            n = unit * f
            tfee = n * t_bps // 10000
            mcap = mo.fee_bps
            mfee = n * (mk_bps if mk_bps < mcap else mcap) // 10000
            if t_gets is None:
                t_gets = ledger.entry(acct, base if is_bid else quote)
                touched[t_gets] = None
            if fee_bal is None and (tfee or mfee):
                fee_bal = ledger.entry(FEE_ACCOUNT, quote)
                touched[fee_bal] = None
            maker = mo.account
            if is_bid:
                # the taker buys: its reserve is R(remaining) at its limit, or what is left of
                # its budget or walked cost
                if has_limit:
                    r_new = buy_reserve(lim * (rem - f) * k, cap)
                    unlock = reserve - r_new
                    reserve = r_new
                else:
                    unlock = n + tfee
                    reserve -= unlock
                m_gets = ledger.entry(maker, quote)
                m_locked = ledger.accounts[maker][base]
                settle_fill(t_locked, t_gets, m_locked, m_gets, fee_bal, f * bpl, n, tfee, mfee, unlock)
            else:
                # the maker buys at its own price: R(r) - R(r - f) of its reserve is released
                unlock = buy_reserve(unit * mrem, mcap) - buy_reserve(unit * (mrem - f), mcap)
                reserve -= f * bpl
                m_gets = ledger.entry(maker, base)
                m_locked = ledger.accounts[maker][quote]
                settle_fill(m_locked, m_gets, t_locked, t_gets, fee_bal, f * bpl, n, mfee, tfee, unlock)
            touched[m_locked] = None
            touched[m_gets] = None
            # order states
            mrem -= f
            mo.remaining = mrem
            mo.executed += f
            mo.executed_quote += n
            level.total -= f
            if mrem == 0:
                mo.status = FILLED
                q.popleft()
                eng._drop(mo)
            else:
                mo.status = PARTIALLY_FILLED
            o.executed += f
            o.executed_quote += n
            if budget:
                more = buy_reserve(unit, t_bps) <= reserve
                o.status = PARTIALLY_FILLED if more else FILLED
                done = not more
            else:
                rem -= f
                o.remaining = rem
                if rem == 0:
                    o.status = FILLED
                    done = True
                else:
                    o.status = PARTIALLY_FILLED
            trade_id += 1
            last_px = best
            if is_bid:
                trade = mk_trade(seq + 1, ts, sym, trade_id, best, f, n, oid, mo.order_id, acct, maker, False,
                                 tfee, mfee, quote)  # fmt: skip
            else:
                trade = mk_trade(seq + 1, ts, sym, trade_id, best, f, n, mo.order_id, oid, maker, acct, True,
                                 mfee, tfee, quote)  # fmt: skip
            events.append(trade)
            events.append(ev_filled(seq + 2, ts, mo, trade_id, best, f, n, mfee, quote, True))
            events.append(ev_filled(seq + 3, ts, o, trade_id, best, f, n, tfee, quote, False))
            seq += 3
            if done:
                break
        if changed:
            tlevels[level] = None
        if level.total == 0 and best in levels:  # (a self-trade cancel may have removed it)
            opp.remove_level(level)
        if done or stopped:
            break
        next_best = opp.best
        if next_best is None or (has_limit and (next_best > lim if is_bid else next_best < lim)):
            break
        best = next_best
    if trade_id != book.last_trade_id:
        book.last_price = last_px
    book.last_trade_id = trade_id
    return seq, reserve, stopped
