"""Cancels: the one path that takes an open order off its book (or trigger list) and unlocks its
reserve, and the two commands that use it (``CancelOrder``, ``CancelAll``); matching uses it too,
for the maker orders that self-trade prevention cancels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .book import Book, Level, Order
from .emit import ev_cancelled
from .errors import INVALID_CLIENT_REQUEST, INVALID_MARKET, MAX_CLIENT_ID, RESOURCE_NOT_FOUND, TRADING_PAUSED
from .ledger import Balance
from .messages import BID, CANCELLED, CLOSED, REASON_USER, TRIGGER_PENDING
from .reserves import order_reserve

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["cancel_order", "cancel", "cancel_all"]


def cancel_order(
    eng: Engine,
    o: Order,
    book: Book,
    reason: str,
    seq: int,
    ts: int,
    events: list,
    tlevels: dict[Level, None],
    touched: dict[Balance, None],
) -> int:
    """Cancels open order ``o`` of ``book``: takes it off its level (``tlevels`` gets the level)
    or its trigger list, unlocks its reserve (``touched`` gets the balance), drops it from the
    indexes and appends its ``OrderCancelled``. Returns the last seq used."""
    asset, amount = order_reserve(o, book.market)
    if o.status is TRIGGER_PENDING:
        o.status = CANCELLED
        book.remove_trigger(o)
    else:
        side = book.bids if o.side is BID else book.asks
        level = side.levels[o.price]  # type: ignore[index]  # a resting order has a price
        o.status = CANCELLED
        side.unlink(o, level)
        tlevels[level] = None
    b = eng.ledger.accounts[o.account][asset]
    b.unlock(amount)
    touched[b] = None
    eng._drop(o)
    seq += 1
    events.append(ev_cancelled(seq, ts, o, reason))
    return seq


def _book(eng: Engine, c: Any, market: object, account: object) -> tuple[Book | None, list | None]:
    """``(the book, None)`` a cancel command names, or ``(None, its rejection)`` when its market
    or account is wrong."""
    book = eng._books.get(market) if type(market) is str else None
    if book is None:
        return None, eng._reject(c, INVALID_MARKET, f"unknown market {market!r}")
    if book.market.state is CLOSED:
        return None, eng._reject(c, TRADING_PAUSED, f"market {market} is halted")
    if type(account) is not int or account <= 0:
        return None, eng._reject(c, INVALID_CLIENT_REQUEST, "account must be a positive integer")
    return book, None


def cancel(eng: Engine, c: Any) -> list:  # c: CancelOrder
    market, acct = c.market, c.account
    book, refusal = _book(eng, c, market, acct)
    if book is None:
        return refusal  # type: ignore[return-value]  # set with no book
    oid, cid = c.order_id, c.client_id
    if oid is None and cid is None:
        return eng._reject(c, INVALID_CLIENT_REQUEST, "order_id or client_id is required")
    if oid is not None and type(oid) is not int:
        return eng._reject(c, INVALID_CLIENT_REQUEST, "order_id must be an integer")
    if cid is not None and (type(cid) is not int or not 0 <= cid <= MAX_CLIENT_ID):
        return eng._reject(c, INVALID_CLIENT_REQUEST, "client_id must be a uint32")
    if oid is not None:
        o = eng._orders.get(oid)
        if o is not None and cid is not None and o.client_id != cid:
            o = None
    else:
        o = eng._client_ids.get(acct << 32 | cid)  # type: ignore[operator]  # both ints
    if o is None or o.account != acct or o.market != market:
        # the same answer for an unknown order and for another account's order
        return eng._reject(c, RESOURCE_NOT_FOUND, "order not found")
    return _cancel_orders(eng, book, [o], c.ts)


def cancel_all(eng: Engine, c: Any) -> list:  # c: CancelAll
    market, acct = c.market, c.account
    book, refusal = _book(eng, c, market, acct)
    if book is None:
        return refusal  # type: ignore[return-value]  # set with no book
    return _cancel_orders(eng, book, eng.open_orders(acct, market), c.ts)  # type: ignore[arg-type]


def _cancel_orders(eng: Engine, book: Book, orders: list[Order], ts: int) -> list:
    """Cancels ``orders`` of ``book`` at the user's request: the command's events."""
    events: list = []
    tlevels: dict[Level, None] = {}
    touched: dict[Balance, None] = {}
    seq = eng._seq
    for o in orders:
        seq = cancel_order(eng, o, book, REASON_USER, seq, ts, events, tlevels, touched)
    return eng._finish(events, seq, ts, book, tlevels, touched)
