"""Reference data and transfers: ``AddAsset``, ``AddMarket``, ``UpdateMarket``, ``Deposit`` and
``Withdraw``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .book import Book
from .errors import (
    INSUFFICIENT_FUNDS,
    INVALID_CLIENT_REQUEST,
    INVALID_MARKET,
    INVALID_QUANTITY,
    MAX_ASSET_DECIMALS,
)
from .market import FIELDS as MARKET_FIELDS
from .market import Market, MarketError
from .messages import AssetAdded, Deposited, MarketChanged, Transfer, Withdrawn
from .units import MAX_AMOUNT

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["add_asset", "add_market", "update_market", "deposit", "withdraw"]


def add_asset(eng: Engine, c: Any) -> list:  # c: AddAsset
    sym, dec = c.symbol, c.decimals
    if not isinstance(sym, str) or not sym or sym != sym.strip():
        return eng._reject(c, INVALID_CLIENT_REQUEST, "asset symbol must be a non-empty string")
    if sym in eng.assets:
        return eng._reject(c, INVALID_CLIENT_REQUEST, f"asset {sym} already exists")
    if type(dec) is not int or not 0 <= dec <= MAX_ASSET_DECIMALS:
        return eng._reject(
            c, INVALID_CLIENT_REQUEST, f"decimals must be an integer in [0, {MAX_ASSET_DECIMALS}]"
        )
    eng.assets[sym] = dec
    eng._seq += 1
    return [AssetAdded(seq=eng._seq, ts=c.ts, symbol=sym, decimals=dec)]


def _market_changed(eng: Engine, c: Any, m: Market) -> list:
    eng._seq += 1
    return [MarketChanged(seq=eng._seq, ts=c.ts, **m.definition())]


def add_market(eng: Engine, c: Any) -> list:  # c: AddMarket
    if isinstance(c.symbol, str) and c.symbol in eng.markets:
        return eng._reject(c, INVALID_MARKET, f"market {c.symbol} already exists", market=c.symbol)
    try:
        m = Market.from_command(c, eng.assets)
    except MarketError as e:
        return eng._reject(c, INVALID_MARKET, str(e), market=c.symbol if isinstance(c.symbol, str) else None)
    eng.markets[m.symbol] = m
    eng._books[m.symbol] = Book(m)
    return _market_changed(eng, c, m)


def update_market(eng: Engine, c: Any) -> list:  # c: UpdateMarket
    m = eng.markets.get(c.symbol) if isinstance(c.symbol, str) else None
    if m is None:
        return eng._reject(c, INVALID_MARKET, f"unknown market {c.symbol!r}", market=None)
    try:
        new = m.updated(c)
    except MarketError as e:
        return eng._reject(c, INVALID_MARKET, str(e), market=c.symbol)
    # Mutate in place: the book and callers hold the same Market object.
    for name in MARKET_FIELDS:
        setattr(m, name, getattr(new, name))
    return _market_changed(eng, c, m)


def _transfer_error(eng: Engine, c: Any) -> tuple[str, str] | None:
    if type(c.account) is not int or c.account < 0:
        return INVALID_CLIENT_REQUEST, "account must be a non-negative integer"
    if not isinstance(c.asset, str) or c.asset not in eng.assets:
        return INVALID_CLIENT_REQUEST, f"unknown asset {c.asset!r}"
    if type(c.amount) is not int or not 0 < c.amount <= MAX_AMOUNT:
        return INVALID_QUANTITY, f"amount must be a positive integer of at most {MAX_AMOUNT}"
    if not isinstance(c.tx_id, str) or not c.tx_id:
        return INVALID_CLIENT_REQUEST, "tx_id must be a non-empty string"
    if c.tx_id in eng._tx_ids:
        return INVALID_CLIENT_REQUEST, f"duplicate tx_id {c.tx_id!r}: already applied"
    return None


def deposit(eng: Engine, c: Any) -> list:  # c: Deposit
    err = _transfer_error(eng, c)
    if err:
        return eng._reject(c, *err)
    supply = eng._supply.get(c.asset, 0) + c.amount
    if supply > MAX_AMOUNT:
        return eng._reject(
            c, INVALID_QUANTITY, f"the {c.asset} held on the exchange would pass {MAX_AMOUNT} units"
        )
    eng._supply[c.asset] = supply
    return _transfer(eng, c, c.amount, Deposited)


def withdraw(eng: Engine, c: Any) -> list:  # c: Withdraw
    err = _transfer_error(eng, c)
    if err:
        return eng._reject(c, *err)
    if eng.ledger.available(c.account, c.asset) < c.amount:
        return eng._reject(c, INSUFFICIENT_FUNDS, f"insufficient available {c.asset} for withdrawal")
    eng._supply[c.asset] -= c.amount
    return _transfer(eng, c, -c.amount, Withdrawn)


def _transfer(eng: Engine, c: Any, change: int, event: type[Transfer]) -> list:
    """Applies an accepted deposit (``change`` > 0) or withdrawal: its event, then the balance."""
    eng._tx_ids.add(c.tx_id)
    b = eng.ledger.entry(c.account, c.asset)
    b.available += change
    eng._seq += 1
    first = event(seq=eng._seq, ts=c.ts, account=c.account, asset=c.asset, amount=c.amount, tx_id=c.tx_id)
    return eng._finish([first], eng._seq, c.ts, None, None, (b,))
