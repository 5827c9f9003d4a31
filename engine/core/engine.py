"""The matching engine: ``Engine.apply(command) -> list[Event]``, deterministic, no I/O, no clock.

``Engine`` holds all trading state and answers the read API; each command is applied by the
module of its job: ``placement`` (checks, then resting, matching or expiring), ``matching``
(fills, settled through ``ledger``), ``cancels``, ``triggers``, ``commands`` (assets, markets,
transfers); events are built by ``emit``. What an order locks, and why it always suffices, is
in ``reserves``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Final

from . import commands
from .book import Book, Level, Order, order_view
from .cancels import cancel, cancel_all
from .emit import mk_balance, mk_depth
from .errors import INVALID_ORDER, MAX_ASSET_DECIMALS, MAX_CLIENT_ID
from .ledger import Balance, Ledger
from .market import Market
from .messages import (
    AddAsset,
    AddMarket,
    CancelAll,
    CancelOrder,
    Deposit,
    PlaceOrder,
    Rejected,
    UpdateMarket,
    Withdraw,
)
from .placement import place
from .reserves import order_reserve, trigger_reserve
from .snapshot import SnapshotError, dump, encode_payload, load

__all__ = ["Engine", "SnapshotError", "order_reserve", "order_view", "trigger_reserve", "MAX_ASSET_DECIMALS"]

_bal_key: Final = attrgetter("account", "asset")

# command type -> its handler (``PlaceOrder`` and ``CancelOrder``, the most frequent, are
# dispatched before this table is consulted)
_HANDLERS: Final[dict[type, Callable[[Engine, Any], list]]] = {
    CancelAll: cancel_all,
    Deposit: commands.deposit,
    Withdraw: commands.withdraw,
    AddAsset: commands.add_asset,
    AddMarket: commands.add_market,
    UpdateMarket: commands.update_market,
}


class Engine:
    """All trading state of the exchange, changed only by ``apply``.

    Read methods: ``depth``, ``balance``, ``balances``, ``open_orders``, ``get_order``,
    ``find_order_by_client_id``, ``markets``, ``assets``, ``last_seq``; ``snapshot``/``restore``;
    ``state_digest`` for comparing two engines.
    """

    def __init__(self) -> None:
        self.assets: dict[str, int] = {}  # symbol -> decimals
        self.markets: dict[str, Market] = {}
        self._books: dict[str, Book] = {}
        self.ledger = Ledger()
        self._orders: dict[int, Order] = {}  # open orders by id, in priority order (snapshots)
        self._acct_orders: dict[int, dict[int, Order]] = {}  # account -> open orders by id
        self._client_ids: dict[int, Order] = {}  # (account << 32 | client_id) -> open order
        self._tx_ids: set[str] = set()  # deposit and withdrawal tx ids ever applied
        # asset -> units held on the exchange (deposits - withdrawals; trades and fees move
        # them between accounts). Kept at most MAX_AMOUNT, so no balance can pass it.
        self._supply: dict[str, int] = {}
        self._seq = 0
        self._last_order_id = 0
        self.snapshot_extra: Any = None  # set by ``restore`` from ``snapshot(extra=...)``

    # ======================================================================================
    # commands
    # ======================================================================================

    def apply(self, command: Any) -> list:
        """Applies one command; returns its events (a single ``Rejected`` if it changed nothing)."""
        t = type(command)
        if t is PlaceOrder:
            last_order_id = self._last_order_id
            seq = self._seq
            try:
                return place(self, command)
            except TypeError:
                # A field of the wrong type (unhashable, not comparable, ...) met in validation,
                # which runs before any change. Anything raised after a change is a bug: never
                # hide it.
                if self._last_order_id != last_order_id or self._seq != seq:
                    raise
                return self._reject(command, INVALID_ORDER, "malformed order")
        if t is CancelOrder:
            return cancel(self, command)
        handler = _HANDLERS.get(t)
        if handler is None:
            raise TypeError(f"not an engine command: {command!r}")
        return handler(self, command)

    # ======================================================================================
    # read API
    # ======================================================================================

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def last_order_id(self) -> int:
        return self._last_order_id

    def depth(self, market: str, limit: int | None = None) -> tuple[list, list, int]:
        """``(bids, asks, update_id)``: ``(price_ticks, qty_lots)`` levels, bids descending, asks
        ascending, at most ``limit`` per side. Raises ``KeyError`` for an unknown market."""
        book = self._books[market]
        return book.bids.depth(limit), book.asks.depth(limit), book.update_id

    def best_bid_ask(self, market: str) -> tuple[int | None, int | None]:
        book = self._books[market]
        return book.bids.best, book.asks.best

    def last_trade_id(self, market: str) -> int:
        return self._books[market].last_trade_id

    def last_price(self, market: str) -> int | None:
        """The price of the market's last trade (ticks); None before its first."""
        return self._books[market].last_price

    def book_counters(self, market: str) -> tuple[int, int]:
        """``(last trade id, depth update id)`` of the market's book."""
        book = self._books[market]
        return book.last_trade_id, book.update_id

    def balance(self, account: int, asset: str) -> tuple[int, int]:
        """``(available, locked)``, ``(0, 0)`` if never seen."""
        return self.ledger.pair(account, asset)

    def balances(self, account: int) -> dict[str, tuple[int, int]]:
        """``{asset: (available, locked)}`` for every asset the account ever held."""
        return self.ledger.balances(account)

    def iter_balances(self):
        """``(account, asset, available, locked)`` for every entry incl. the fee account."""
        return self.ledger.iter_all()

    def accounts(self) -> list[int]:
        return sorted(self.ledger.accounts)

    def open_orders(self, account: int, market: str | None = None) -> list[Order]:
        """The account's open orders (optionally in one market), by order id. Each has ``view()``."""
        orders = self._acct_orders.get(account)
        if not orders:
            return []
        out = [o for o in orders.values() if market is None or o.market == market]
        out.sort(key=_order_id_key)
        return out

    def get_order(self, order_id: int) -> Order | None:
        """An OPEN order by id, else ``None`` (closed orders live in the database)."""
        return self._orders.get(order_id)

    def find_order_by_client_id(self, account: object, market: str, client_id: object) -> Order | None:
        if type(account) is not int or type(client_id) is not int or not 0 <= client_id <= MAX_CLIENT_ID:
            return None
        o = self._client_ids.get(account << 32 | client_id)
        if o is None or o.market != market:
            return None
        return o

    def all_open_orders(self) -> list[Order]:
        """Every open order, by id."""
        return sorted(self._orders.values(), key=_order_id_key)

    def order_reserve(self, order: Order) -> tuple[str, int]:
        return order_reserve(order, self.markets[order.market])

    def state_digest(self) -> str:
        """A digest of the complete state: equal iff two engines are in the same state."""
        return hashlib.blake2b(encode_payload(self), digest_size=32).hexdigest()

    def snapshot(self, extra=None) -> bytes:
        """The complete state as bytes (magic, version, length, checksum, payload). ``extra`` is
        any marshal-able value (e.g. the last applied stream id), returned by ``restore`` as
        ``engine.snapshot_extra``."""
        return dump(self, extra)

    @classmethod
    def restore(cls, data: Any) -> Engine:  # data: bytes (anything else raises SnapshotError)
        """An engine from ``snapshot()`` bytes; raises ``SnapshotError`` if they are damaged."""
        engine = load(cls, data)
        engine._supply = engine.ledger.totals()  # derived: the sum of every account's balance
        return engine

    # ======================================================================================
    # for the command modules
    # ======================================================================================

    def _reject(self, c, code: str, message: str, *, market: str | None = None) -> list:
        self._seq += 1
        return [
            Rejected(
                seq=self._seq,
                ts=c.ts,
                command=type(c).__name__,
                account=getattr(c, "account", None),
                market=market if market is not None else getattr(c, "market", None),
                client_id=getattr(c, "client_id", None),
                code=code,
                message=message,
            )
        ]

    def _finish(
        self,
        events: list,
        seq: int,
        ts: int,
        book: Book | None,
        tlevels: dict[Level, None] | None,
        touched: dict[Balance, None] | tuple[Balance, ...],
    ) -> list:
        """Appends the command's DepthChanged (one per touched level, final quantity) and
        BalanceChanged (one per touched balance, sorted by account, asset) events."""
        if tlevels:
            assert book is not None
            uid = book.update_id
            sym = book.symbol
            for level in tlevels:
                seq += 1
                uid += 1
                events.append(mk_depth(seq, ts, sym, level.side, level.price, level.total, uid))
            book.update_id = uid
        if touched:
            bals = sorted(touched, key=_bal_key) if len(touched) > 1 else touched
            for b in bals:
                seq += 1
                events.append(mk_balance(seq, ts, b.account, b.asset, b.available, b.locked))
        self._seq = seq
        return events

    def _index(self, o: Order) -> None:
        """Adds an open order to the indexes (by id, by account, by client id)."""
        oid = o.order_id
        self._orders[oid] = o
        ao = self._acct_orders.get(o.account)
        if ao is None:
            self._acct_orders[o.account] = {oid: o}
        else:
            ao[oid] = o
        if o.client_id is not None:
            self._client_ids[o.account << 32 | o.client_id] = o

    def _drop(self, o: Order) -> None:
        """Removes a closed order from the indexes (not from its level)."""
        oid = o.order_id
        del self._orders[oid]
        ao = self._acct_orders[o.account]
        del ao[oid]
        if not ao:
            del self._acct_orders[o.account]
        if o.client_id is not None:
            del self._client_ids[o.account << 32 | o.client_id]


def _order_id_key(o: Order) -> int:
    return o.order_id
