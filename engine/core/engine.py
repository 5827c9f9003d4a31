"""The matching engine: ``Engine.apply(command) -> list[Event]``, deterministic, no I/O, no clock.

Units: prices in ticks, quantities in lots, amounts in asset units (see ``units``). The notional
of ``q`` lots at ``p`` ticks is ``p * q * market.quote_per_tick_lot`` quote units.

Fees are charged in the QUOTE asset on both sides: the buyer pays notional + fee, the seller
receives notional - fee; both fees go to ``FEE_ACCOUNT``. The fee of one fill is
``floor(fill_notional * bps / 10000)``: rounded DOWN, in the trader's favour. Rounding down is
also what keeps every lock sufficient: ``floor`` is superadditive
(``floor(a) + floor(b) <= floor(a + b)``), so the fees of the fills of an order never add up to
more than the fee on its whole notional, which is what the order locked. A buy order's reserve for
``r`` remaining lots at limit price ``P`` is ``R(r) = N(P, r) + floor(N(P, r) * bps / 10000)``
with ``bps = max(maker, taker)`` at placement (stored on the order as ``fee_bps``; the fee charged
on a fill never exceeds it). A fill of ``f`` lots at ``p <= P`` costs
``N(p, f) + floor(N(p, f) * b / 10000) <= N(P, f) + floor(N(P, f) * bps / 10000) <= R(r) - R(r - f)``,
so after each fill the reserve is recomputed as ``R(r - f)`` and the (non-negative) excess is
unlocked; that excess is the price improvement plus the fee rounding. A sell order's reserve is
``r * base_per_lot`` in the base asset.

Trigger orders rest off the book (status ``TriggerPending``) with what they will need locked
(``trigger_reserve``) until the market's last trade price reaches their trigger price; they are
then placed as any order is, within the command whose trade moved the price, one at a time in
the order the price reached them, each able to move the price on to others (``Engine._fire``).
One that cannot be placed then (funds, the market's filters) closes ``TriggerFailed``.

Invariant after every command: for each account and asset, ``locked`` equals the sum of the
reserves (``order_reserve``) of the account's open orders (resting or pending) in that asset.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from operator import attrgetter
from types import FunctionType
from typing import Any, Final

from .book import Book, BookSide, Level, Order, order_view
from .ledger import Balance, Ledger
from .market import FIELDS as MARKET_FIELDS
from .market import Market, MarketError
from .messages import (
    ASK,
    BID,
    CANCEL_ONLY,
    CANCELLED,
    CLOSED,
    EXPIRED,
    FEE_ACCOUNT,
    FILLED,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    NEW,
    OPEN,
    PARTIALLY_FILLED,
    POST_ONLY,
    REASON_SELF_TRADE,
    REASON_UNFILLED,
    REASON_USER,
    REJECT_BOTH,
    REJECT_MAKER,
    REJECT_TAKER,
    TRIGGER_FAILED,
    TRIGGER_PENDING,
    AddAsset,
    AddMarket,
    AssetAdded,
    BalanceChanged,
    CancelAll,
    CancelOrder,
    Deposit,
    Deposited,
    DepthChanged,
    MarketChanged,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderTriggered,
    OrderTriggerFailed,
    PlaceOrder,
    Rejected,
    Trade,
    UpdateMarket,
    Withdraw,
    Withdrawn,
)
from .snapshot import SnapshotError, dump, encode_payload, load
from .units import MAX_AMOUNT

__all__ = ["Engine", "SnapshotError", "order_reserve", "order_view", "trigger_reserve"]

# API error codes (shared/API.md)
INVALID_CLIENT_REQUEST: Final = "INVALID_CLIENT_REQUEST"
INVALID_ORDER: Final = "INVALID_ORDER"
INVALID_PRICE: Final = "INVALID_PRICE"
INVALID_QUANTITY: Final = "INVALID_QUANTITY"
INSUFFICIENT_FUNDS: Final = "INSUFFICIENT_FUNDS"
INVALID_MARKET: Final = "INVALID_MARKET"
RESOURCE_NOT_FOUND: Final = "RESOURCE_NOT_FOUND"
TRADING_PAUSED: Final = "TRADING_PAUSED"

MAX_CLIENT_ID: Final = 2**32 - 1
# A whole unit of an asset must fit the 64-bit amounts with room: 10**18 < 2**63.
MAX_ASSET_DECIMALS: Final = 18

# Wire strings -> the module's own constants, so the engine can compare by identity.
_SIDES: Final[dict[Any, str]] = {BID: BID, ASK: ASK}
_TYPES: Final[dict[Any, str]] = {LIMIT: LIMIT, MARKET: MARKET}
_TIFS: Final[dict[Any, str]] = {GTC: GTC, IOC: IOC, FOK: FOK}
_STPS: Final[dict[Any, str]] = {
    REJECT_TAKER: REJECT_TAKER,
    REJECT_MAKER: REJECT_MAKER,
    REJECT_BOTH: REJECT_BOTH,
}

_bal_key: Final = attrgetter("account", "asset")


def _enum(table: dict, value):
    """``table[value]`` or ``None`` (also for unhashable / non-string values)."""
    if type(value) is not str:
        return None
    return table.get(value)


def order_reserve(order: Order, market: Market) -> tuple[str, int]:
    """``(asset, amount)`` an open order keeps locked: for a resting buy ``R(remaining)`` in
    quote (see the module docstring), for a resting sell ``remaining * base_per_lot`` in base;
    for a pending trigger order what it will need when placed (``trigger_reserve``)."""
    if order.status is TRIGGER_PENDING:
        return trigger_reserve(order, market)
    rem: int = order.remaining  # type: ignore[assignment]  # a resting order has both
    if order.side is BID:
        price: int = order.price  # type: ignore[assignment]
        n = price * rem * market.quote_per_tick_lot
        return market.quote, n + n * order.fee_bps // 10000
    return market.base, rem * market.base_per_lot


def trigger_reserve(order: Order, market: Market) -> tuple[str, int]:
    """What a pending trigger order locks: a sell its quantity in base; a buy its budget, or
    ``R(quantity)`` at its limit price (a market buy: at its trigger price, the price it is
    expected to meet) with its fee rate."""
    qty: int = order.quantity  # type: ignore[assignment]  # None only with a budget
    if order.side is ASK:
        return market.base, qty * market.base_per_lot
    if order.quote_quantity is not None:
        return market.quote, order.quote_quantity
    price: int = order.price if order.price is not None else order.trigger_price  # type: ignore[assignment]
    n = price * qty * market.quote_per_tick_lot
    return market.quote, n + n * order.fee_bps // 10000


def _affordable(unit: int, budget: int, bps: int) -> int:
    """Most lots ``q`` with ``unit*q + floor(unit*q*bps/10000) <= budget`` (``unit`` = quote per lot)."""
    if budget <= 0:
        return 0
    q = budget * 10000 // (unit * (10000 + bps))  # feasible: its cost is at most budget
    while True:  # the floor in the fee can admit at most a lot or so more
        n = unit * (q + 1)
        if n + n * bps // 10000 > budget:
            return q
        q += 1


# --- event constructors ----------------------------------------------------------------------
# The hot path builds events through the helpers ``_ev_*`` (from an ``Order``) and ``_mk_*``
# (positional, in field order) defined after the factories below. Compiled (mypyc), a helper's
# keyword call is a direct C call to the event's constructor. In plain Python the event dataclasses
# are keyword-only and binding ~20 keyword arguments costs more than building the object, so the
# helpers are replaced (end of this section) by constructors generated here from the dataclass
# fields. Both produce exactly the objects ``cls(**fields)`` would (the messages have no defaults
# or ``__post_init__`` to run; a test checks equality).

# OrderEvent field -> Order attribute
_ORDER_ATTRS = {
    "order_id": "order_id",
    "account": "account",
    "market": "market",
    "side": "side",
    "order_type": "order_type",
    "time_in_force": "time_in_force",
    "post_only": "post_only",
    "self_trade_prevention": "stp",
    "client_id": "client_id",
    "price": "price",
    "quantity": "quantity",
    "quote_quantity": "quote_quantity",
    "executed_quantity": "executed",
    "executed_quote_quantity": "executed_quote",
    "status": "status",
    "created_ts": "created_ts",
    "fee_bps": "fee_bps",
    "trigger_price": "trigger_price",
    "priority": "priority",
}


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
    extra = [n for n in names if n not in _ORDER_ATTRS and n not in ("seq", "ts")]
    body = "".join(
        f"    s.{n} = o.{_ORDER_ATTRS[n]}\n" if n in _ORDER_ATTRS else f"    s.{n} = {n}\n" for n in names
    )
    src = f"def make(seq, ts, o, {', '.join(extra)}):\n    s = _new(_cls)\n{body}    return s\n".replace(
        ", ):", "):"
    )
    return _compile("make", src, cls)


def _ev_accepted(seq: int, ts: int, o: Order) -> OrderAccepted:
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


def _ev_cancelled(seq: int, ts: int, o: Order, reason: str) -> OrderCancelled:
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


def _ev_expired(seq: int, ts: int, o: Order, reason: str) -> OrderExpired:
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


def _ev_triggered(seq: int, ts: int, o: Order) -> OrderTriggered:
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


def _ev_trigger_failed(seq: int, ts: int, o: Order, reason: str) -> OrderTriggerFailed:
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


def _ev_filled(
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


def _mk_trade(
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


def _mk_depth(
    seq: int, ts: int, market: str, side: str, price: int, quantity: int, update_id: int
) -> DepthChanged:
    return DepthChanged(
        seq=seq, ts=ts, market=market, side=side, price=price, quantity=quantity, update_id=update_id
    )


def _mk_balance(seq: int, ts: int, account: int, asset: str, available: int, locked: int) -> BalanceChanged:
    return BalanceChanged(seq=seq, ts=ts, account=account, asset=asset, available=available, locked=locked)


COMPILED = type(_mk_balance) is not FunctionType  # True when this module was built with mypyc
if not COMPILED:
    globals().update(
        _ev_accepted=order_event_factory(OrderAccepted),
        _ev_cancelled=order_event_factory(OrderCancelled),
        _ev_expired=order_event_factory(OrderExpired),
        _ev_filled=order_event_factory(OrderFilled),
        _ev_triggered=order_event_factory(OrderTriggered),
        _ev_trigger_failed=order_event_factory(OrderTriggerFailed),
        _mk_trade=positional_factory(Trade),
        _mk_depth=positional_factory(DepthChanged),
        _mk_balance=positional_factory(BalanceChanged),
    )


def _limit_error(m: Market, price: Any, qty: Any) -> tuple[str, str] | None:
    """What is wrong with a limit order's price and quantity on market ``m`` (code, message)."""
    if type(price) is not int or not m.min_price <= price <= m.max_price:
        return INVALID_PRICE, f"price must be an integer in [{m.min_price}, {m.max_price}] ticks"
    if type(qty) is not int or not m.min_quantity <= qty <= m.max_quantity:
        return INVALID_QUANTITY, f"quantity must be an integer in [{m.min_quantity}, {m.max_quantity}] lots"
    if price * qty * m.quote_per_tick_lot < m.min_notional:
        return INVALID_ORDER, f"order value is below the min notional of {m.min_notional}"
    return None


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
        self._orders: dict[int, Order] = {}  # open orders by id
        self._acct_orders: dict[int, dict[int, Order]] = {}  # account -> open orders by id
        self._client_ids: dict[int, Order] = {}  # (account << 32 | client_id) -> open order
        self._tx_ids: set[str] = set()  # deposit and withdrawal tx ids ever applied
        # asset -> units held on the exchange (deposits - withdrawals; trades and fees move
        # them between accounts). Kept at most MAX_AMOUNT, so no balance can pass it.
        self._supply: dict[str, int] = {}
        self._seq = 0
        self._last_order_id = 0
        self._firing = False  # placing triggered orders (``_fire``): nested placements leave it the loop
        self.snapshot_extra: Any = None  # set by ``restore`` from ``snapshot(extra=...)``
        self._handlers: dict[type, Callable[[Any], list]] = {
            PlaceOrder: self._place,  # a TypeError in its validation is a rejection (see apply)
            CancelOrder: self._cancel,
            CancelAll: self._cancel_all,
            Deposit: self._deposit,
            Withdraw: self._withdraw,
            AddAsset: self._add_asset,
            AddMarket: self._add_market,
            UpdateMarket: self._update_market,
        }

    # ======================================================================================
    # public API
    # ======================================================================================

    def apply(self, command: Any) -> list:
        """Applies one command; returns its events (a single ``Rejected`` if it changed nothing)."""
        t = type(command)
        if t is PlaceOrder:
            last_order_id = self._last_order_id
            seq = self._seq
            try:
                return self._place(command)
            except TypeError:
                # A field of the wrong type (unhashable, not comparable, ...) met in validation,
                # which runs before any change. Anything raised after a change is a bug: never
                # hide it.
                if self._last_order_id != last_order_id or self._seq != seq:
                    raise
                return self._reject(command, INVALID_ORDER, "malformed order")
        if t is CancelOrder:
            return self._cancel(command)
        handler = self._handlers.get(t)
        if handler is None:
            raise TypeError(f"not an engine command: {command!r}")
        return handler(command)

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
    # helpers
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

    def _available(self, account: int, asset: str) -> int:
        a = self.ledger.accounts.get(account)
        if a is None:
            return 0
        b = a.get(asset)
        return 0 if b is None else b.available

    def _entry(self, account: int, asset: str) -> Balance:
        return self.ledger.entry(account, asset)

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
                events.append(_mk_depth(seq, ts, sym, level.side, level.price, level.total, uid))
            book.update_id = uid
        if touched:
            bals = sorted(touched, key=_bal_key) if len(touched) > 1 else touched
            for b in bals:
                seq += 1
                events.append(_mk_balance(seq, ts, b.account, b.asset, b.available, b.locked))
        self._seq = seq
        return events

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

    # ======================================================================================
    # assets, markets, transfers
    # ======================================================================================

    def _add_asset(self, c: Any) -> list:  # c: AddAsset
        sym, dec = c.symbol, c.decimals
        if not isinstance(sym, str) or not sym or sym != sym.strip():
            return self._reject(c, INVALID_CLIENT_REQUEST, "asset symbol must be a non-empty string")
        if sym in self.assets:
            return self._reject(c, INVALID_CLIENT_REQUEST, f"asset {sym} already exists")
        if type(dec) is not int or not 0 <= dec <= MAX_ASSET_DECIMALS:
            return self._reject(
                c, INVALID_CLIENT_REQUEST, f"decimals must be an integer in [0, {MAX_ASSET_DECIMALS}]"
            )
        self.assets[sym] = dec
        self._seq += 1
        return [AssetAdded(seq=self._seq, ts=c.ts, symbol=sym, decimals=dec)]

    def _market_changed(self, c, m: Market) -> list:
        self._seq += 1
        return [MarketChanged(seq=self._seq, ts=c.ts, **m.definition())]

    def _add_market(self, c: Any) -> list:  # c: AddMarket
        if isinstance(c.symbol, str) and c.symbol in self.markets:
            return self._reject(c, INVALID_MARKET, f"market {c.symbol} already exists", market=c.symbol)
        try:
            m = Market.from_command(c, self.assets)
        except MarketError as e:
            return self._reject(
                c, INVALID_MARKET, str(e), market=c.symbol if isinstance(c.symbol, str) else None
            )
        self.markets[m.symbol] = m
        self._books[m.symbol] = Book(m)
        return self._market_changed(c, m)

    def _update_market(self, c: Any) -> list:  # c: UpdateMarket
        m = self.markets.get(c.symbol) if isinstance(c.symbol, str) else None
        if m is None:
            return self._reject(c, INVALID_MARKET, f"unknown market {c.symbol!r}", market=None)
        try:
            new = m.updated(c)
        except MarketError as e:
            return self._reject(c, INVALID_MARKET, str(e), market=c.symbol)
        # Mutate in place: the book and callers hold the same Market object.
        for name in MARKET_FIELDS:
            setattr(m, name, getattr(new, name))
        return self._market_changed(c, m)

    def _check_transfer(self, c) -> tuple[str, str] | None:
        if type(c.account) is not int or c.account < 0:
            return INVALID_CLIENT_REQUEST, "account must be a non-negative integer"
        if not isinstance(c.asset, str) or c.asset not in self.assets:
            return INVALID_CLIENT_REQUEST, f"unknown asset {c.asset!r}"
        if type(c.amount) is not int or not 0 < c.amount <= MAX_AMOUNT:
            return "INVALID_QUANTITY", f"amount must be a positive integer of at most {MAX_AMOUNT}"
        if not isinstance(c.tx_id, str) or not c.tx_id:
            return INVALID_CLIENT_REQUEST, "tx_id must be a non-empty string"
        if c.tx_id in self._tx_ids:
            return INVALID_CLIENT_REQUEST, f"duplicate tx_id {c.tx_id!r}: already applied"
        return None

    def _deposit(self, c: Any) -> list:  # c: Deposit
        err = self._check_transfer(c)
        if err:
            return self._reject(c, *err)
        supply = self._supply.get(c.asset, 0) + c.amount
        if supply > MAX_AMOUNT:
            return self._reject(
                c, INVALID_QUANTITY, f"the {c.asset} held on the exchange would pass {MAX_AMOUNT} units"
            )
        self._supply[c.asset] = supply
        self._tx_ids.add(c.tx_id)
        b = self._entry(c.account, c.asset)
        b.available += c.amount
        self._seq += 1
        events = [
            Deposited(
                seq=self._seq, ts=c.ts, account=c.account, asset=c.asset, amount=c.amount, tx_id=c.tx_id
            )
        ]
        return self._finish(events, self._seq, c.ts, None, None, (b,))

    def _withdraw(self, c: Any) -> list:  # c: Withdraw
        err = self._check_transfer(c)
        if err:
            return self._reject(c, *err)
        if self._available(c.account, c.asset) < c.amount:
            return self._reject(c, INSUFFICIENT_FUNDS, f"insufficient available {c.asset} for withdrawal")
        self._tx_ids.add(c.tx_id)
        self._supply[c.asset] -= c.amount
        b = self._entry(c.account, c.asset)
        b.available -= c.amount
        self._seq += 1
        events = [
            Withdrawn(
                seq=self._seq, ts=c.ts, account=c.account, asset=c.asset, amount=c.amount, tx_id=c.tx_id
            )
        ]
        return self._finish(events, self._seq, c.ts, None, None, (b,))

    # ======================================================================================
    # cancels
    # ======================================================================================

    def _cancel_order_state(
        self,
        o: Order,
        book: Book,
        reason: str,
        seq: int,
        ts: int,
        events: list,
        tlevels: dict[Level, None],
        touched: dict[Balance, None],
    ) -> int:
        """Cancels an open order: takes it off the book (or its trigger list), unlocks its
        reserve, emits the event."""
        if o.status is TRIGGER_PENDING:
            return self._cancel_trigger(o, book, reason, seq, ts, events, touched)
        m = self.markets[o.market]
        side = book.bids if o.side is BID else book.asks
        level = side.levels[o.price]  # type: ignore[index]
        asset, amount = order_reserve(o, m)
        o.status = CANCELLED
        side.unlink(o, level)
        tlevels[level] = None
        b = self.ledger.accounts[o.account][asset]
        b.locked -= amount
        b.available += amount
        touched[b] = None
        self._drop(o)
        seq += 1
        events.append(_ev_cancelled(seq, ts, o, reason))
        return seq

    def _cancel_trigger(
        self, o: Order, book: Book, reason: str, seq: int, ts: int, events: list, touched: dict[Balance, None]
    ) -> int:
        asset, amount = trigger_reserve(o, book.market)
        o.status = CANCELLED
        book.remove_trigger(o)
        b = self.ledger.accounts[o.account][asset]
        b.locked -= amount
        b.available += amount
        touched[b] = None
        self._drop(o)
        seq += 1
        events.append(_ev_cancelled(seq, ts, o, reason))
        return seq

    def _cancel_gate(self, c) -> tuple[str, str] | None:
        if type(c.account) is not int or c.account <= 0:
            return INVALID_CLIENT_REQUEST, "account must be a positive integer"
        return None

    def _cancel(self, c: Any) -> list:  # c: CancelOrder
        book = self._books.get(c.market) if type(c.market) is str else None
        if book is None:
            return self._reject(c, INVALID_MARKET, f"unknown market {c.market!r}")
        if book.market.state is CLOSED:
            return self._reject(c, TRADING_PAUSED, f"market {c.market} is halted")
        acct = c.account
        if type(acct) is not int or acct <= 0:
            return self._reject(c, INVALID_CLIENT_REQUEST, "account must be a positive integer")
        oid, cid = c.order_id, c.client_id
        if oid is None and cid is None:
            return self._reject(c, INVALID_CLIENT_REQUEST, "order_id or client_id is required")
        if oid is not None and type(oid) is not int:
            return self._reject(c, INVALID_CLIENT_REQUEST, "order_id must be an integer")
        if cid is not None and (type(cid) is not int or not 0 <= cid <= MAX_CLIENT_ID):
            return self._reject(c, INVALID_CLIENT_REQUEST, "client_id must be a uint32")
        if oid is not None:
            o = self._orders.get(oid)
            if o is not None and cid is not None and o.client_id != cid:
                o = None
        else:
            o = self._client_ids.get(acct << 32 | cid)  # type: ignore[operator]  # cid is set
        if o is None or o.account != acct or o.market != c.market:
            # the same answer for an unknown order and for another account's order
            return self._reject(c, RESOURCE_NOT_FOUND, "order not found")
        if o.status is TRIGGER_PENDING:
            events: list = []
            touched: dict = {}
            seq = self._cancel_trigger(o, book, REASON_USER, self._seq, c.ts, events, touched)
            return self._finish(events, seq, c.ts, None, None, touched)
        # -- accepted: take it off the book, unlock its reserve
        m = book.market
        price: int = o.price  # type: ignore[assignment]  # a resting order has both
        rem: int = o.remaining  # type: ignore[assignment]
        if o.side is BID:
            side = book.bids
            n = price * rem * m.quote_per_tick_lot
            amount = n + n * o.fee_bps // 10000
            asset = m.quote
        else:
            side = book.asks
            amount = rem * m.base_per_lot
            asset = m.base
        level = side.levels[price]
        o.status = CANCELLED
        side.unlink(o, level)
        b = self.ledger.accounts[acct][asset]
        b.locked -= amount
        b.available += amount
        self._drop(o)
        ts = c.ts
        seq = self._seq
        uid = book.update_id + 1
        book.update_id = uid
        self._seq = seq + 3
        return [
            _ev_cancelled(seq + 1, ts, o, REASON_USER),
            _mk_depth(seq + 2, ts, book.symbol, level.side, level.price, level.total, uid),
            _mk_balance(seq + 3, ts, acct, asset, b.available, b.locked),
        ]

    def _cancel_all(self, c: Any) -> list:  # c: CancelAll
        book = self._books.get(c.market) if isinstance(c.market, str) else None
        if book is None:
            return self._reject(c, INVALID_MARKET, f"unknown market {c.market!r}")
        if self.markets[c.market].state is CLOSED:
            return self._reject(c, TRADING_PAUSED, f"market {c.market} is halted")
        err = self._cancel_gate(c)
        if err:
            return self._reject(c, *err)
        events: list = []
        tlevels: dict = {}
        touched: dict = {}
        seq = self._seq
        for o in self.open_orders(c.account, c.market):
            seq = self._cancel_order_state(o, book, REASON_USER, seq, c.ts, events, tlevels, touched)
        return self._finish(events, seq, c.ts, book, tlevels, touched)

    # ======================================================================================
    # placing orders
    # ======================================================================================

    def _place_reject(self, c: Any, side, otype, tif, stp) -> list:
        """The rejection for bad enum fields (off the hot path)."""
        if side is None:
            return self._reject(c, INVALID_ORDER, f"invalid side {c.side!r}")
        if otype is None:
            return self._reject(c, INVALID_ORDER, f"invalid order type {c.order_type!r}")
        if tif is None:
            return self._reject(c, INVALID_ORDER, f"invalid time in force {c.time_in_force!r}")
        if stp is None:
            return self._reject(
                c, INVALID_ORDER, f"invalid self trade prevention {c.self_trade_prevention!r}"
            )
        return self._reject(c, INVALID_ORDER, "post_only must be a boolean")

    def _place(self, c: Any, trigger: Order | None = None) -> list:  # noqa: C901 - one flat validation sequence
        """Places ``c`` (a PlaceOrder); ``trigger``: the pending trigger order it places (its id,
        creation time and trigger price carry over), taken off its list and unlocked already."""
        book = self._books.get(c.market)
        if book is None:
            return self._reject(c, INVALID_MARKET, f"unknown market {c.market!r}")
        m = book.market
        acct = c.account
        if type(acct) is not int or acct <= 0:
            return self._reject(c, INVALID_CLIENT_REQUEST, "account must be a positive integer")
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
                    return self._reject(
                        c, TRADING_PAUSED, f"market {m.symbol} accepts only post-only limit orders"
                    )
            elif state is CANCEL_ONLY:
                return self._reject(c, TRADING_PAUSED, f"market {m.symbol} accepts only cancels")
            else:
                return self._reject(c, TRADING_PAUSED, f"market {m.symbol} is halted")
        if (
            side is None
            or otype is None
            or tif is None
            or stp is None
            or (post_only is not False and post_only is not True)
        ):
            return self._place_reject(c, side, otype, tif, stp)
        cid = c.client_id
        if cid is not None:
            if type(cid) is not int or not 0 <= cid <= MAX_CLIENT_ID:
                return self._reject(c, INVALID_ORDER, "client_id must be a uint32")
            if (acct << 32 | cid) in self._client_ids:
                return self._reject(c, INVALID_ORDER, f"client_id {cid} is already used by an open order")
        if c.trigger_price is not None:
            return self._place_trigger(c, book, acct, side, otype, tif, stp, post_only, cid)
        price = c.price
        qty = c.quantity
        qq = c.quote_quantity
        is_bid = side is BID
        k = m.quote_per_tick_lot
        acc = self.ledger.accounts.get(acct)
        budget = False
        if otype is LIMIT:
            if qq is not None:
                return self._reject(c, INVALID_ORDER, "quote_quantity is only for market buy orders")
            err = _limit_error(m, price, qty)
            if err is not None:
                return self._reject(c, err[0], err[1])
            n = price * qty * k
            if post_only:
                if tif is not GTC:
                    return self._reject(c, INVALID_ORDER, "post-only orders must be GTC")
                opp = book.asks.best if is_bid else book.bids.best
                if opp is not None and (price >= opp if is_bid else price <= opp):
                    return self._reject(c, INVALID_ORDER, "post-only order would take liquidity")
            # the highest fee this order can pay: its reserve covers it, its fills never exceed it
            fee_bps = m.maker_fee_bps if m.maker_fee_bps > m.taker_fee_bps else m.taker_fee_bps
            if is_bid:
                need = n + n * fee_bps // 10000
                asset = m.quote
            else:
                need = qty * m.base_per_lot
                asset = m.base
            bal = None if acc is None else acc.get(asset)
            if bal is None or bal.available < need:
                return self._reject(c, INSUFFICIENT_FUNDS, f"insufficient available {asset}")
            if tif is FOK:
                t_bps = m.taker_fee_bps
                filled, _ = self._walk(book.asks if is_bid else book.bids, acct, stp, price, qty, k, t_bps)
                if filled < qty:
                    return self._reject(c, INVALID_ORDER, "FOK order cannot be filled completely")
        else:  # MARKET
            if price is not None:
                return self._reject(c, INVALID_ORDER, "price is not allowed on a market order")
            if post_only:
                return self._reject(c, INVALID_ORDER, "a market order cannot be post-only")
            opp_side = book.asks if is_bid else book.bids
            fee_bps = m.taker_fee_bps
            if qq is not None:
                if qty is not None:
                    return self._reject(c, INVALID_ORDER, "give either quantity or quote_quantity, not both")
                if not is_bid:
                    return self._reject(c, INVALID_ORDER, "quote_quantity is only for market buy orders")
                if tif is FOK:
                    return self._reject(c, INVALID_ORDER, "FOK is not supported with quote_quantity")
                if type(qq) is not int or qq <= 0:
                    return self._reject(c, INVALID_QUANTITY, "quote_quantity must be a positive integer")
                if qq < m.min_notional:
                    return self._reject(
                        c, INVALID_ORDER, f"order value is below the min notional of {m.min_notional}"
                    )
                if opp_side.best is None:
                    return self._reject(c, INVALID_ORDER, "no liquidity")
                need = qq
                asset = m.quote
                budget = True
            else:
                if type(qty) is not int or not m.min_quantity <= qty <= m.max_quantity:
                    return self._reject(
                        c,
                        INVALID_QUANTITY,
                        f"quantity must be an integer in [{m.min_quantity}, {m.max_quantity}] lots",
                    )
                best = opp_side.best
                if best is None:
                    return self._reject(c, INVALID_ORDER, "no liquidity")
                if best * qty * k < m.min_notional:
                    return self._reject(
                        c, INVALID_ORDER, f"order value is below the min notional of {m.min_notional}"
                    )
                if is_bid or tif is FOK:
                    filled, cost = self._walk(opp_side, acct, stp, None, qty, k, fee_bps)
                    if tif is FOK and filled < qty:
                        return self._reject(c, INVALID_ORDER, "FOK order cannot be filled completely")
                if is_bid:
                    need = cost  # the exact cost (fees included) of the part the book can fill
                    asset = m.quote
                else:
                    need = qty * m.base_per_lot
                    asset = m.base
            bal = None if acc is None else acc.get(asset)
            if bal is None or bal.available < need:
                if bal is None and need == 0 and acc is not None:
                    bal = None  # nothing to lock (only own orders in reach): accepted below
                else:
                    return self._reject(c, INSUFFICIENT_FUNDS, f"insufficient available {asset}")
            if tif is not FOK:
                tif = IOC  # market orders are immediate-or-cancel

        # ---- accepted: from here on nothing can fail ----------------------------------------
        ts = c.ts
        prio = self._last_order_id + 1
        self._last_order_id = prio
        if trigger is None:
            oid = prio
            created = ts
            trigger_price = None
        else:
            oid = trigger.order_id
            created = trigger.created_ts
            trigger_price = trigger.trigger_price
        o = Order(
            oid,
            acct,
            m.symbol,
            side,
            otype,
            tif,
            post_only,
            stp,
            cid,
            price,
            qty,
            qq,
            qty,
            0,
            0,
            NEW,
            created,
            fee_bps,
            trigger_price,
            prio,
        )
        seq = self._seq + 1
        events: list = [_ev_accepted(seq, ts, o) if trigger is None else _ev_triggered(seq, ts, o)]
        if bal is None:
            bal = self._entry(acct, asset)
        bal.available -= need
        bal.locked += need
        if is_bid:
            best = book.asks.best
            crosses = best is not None and (price is None or best <= price)
        else:
            best = book.bids.best
            crosses = best is not None and (price is None or best >= price)
        if not crosses:
            # fast path: nothing to match (the common case for a limit order)
            if tif is GTC:
                level = (book.bids if is_bid else book.asks).add(o)
                self._orders[oid] = o
                ao = self._acct_orders.get(acct)
                if ao is None:
                    self._acct_orders[acct] = {oid: o}
                else:
                    ao[oid] = o
                if cid is not None:
                    self._client_ids[acct << 32 | cid] = o
                uid = book.update_id + 1
                book.update_id = uid
                self._seq = seq + 2
                return [
                    events[0],
                    _mk_depth(seq + 1, ts, book.symbol, level.side, level.price, level.total, uid),
                    _mk_balance(seq + 2, ts, acct, asset, bal.available, bal.locked),
                ]
            o.status = EXPIRED
            bal.locked -= need
            bal.available += need
            self._seq = seq + 2
            return [
                events[0],
                _ev_expired(seq + 1, ts, o, REASON_UNFILLED),
                _mk_balance(seq + 2, ts, acct, asset, bal.available, bal.locked),
            ]
        touched = {bal: None}
        tlevels: dict = {}
        traded_before = book.last_trade_id
        if is_bid:
            seq, reserve, stopped = self._take_asks(
                book, m, o, price, budget, need, seq, ts, events, touched, tlevels
            )
        else:
            seq, reserve, stopped = self._take_bids(
                book, m, o, price, need, seq, ts, events, touched, tlevels
            )
        # ---- the taker's fate ------------------------------------------------------------------
        rests = False
        if stopped is not None:  # self-trade prevention stopped it
            o.status = EXPIRED
            seq += 1
            events.append(_ev_expired(seq, ts, o, REASON_SELF_TRADE))
        elif o.status is not FILLED:
            if tif is GTC:
                # rests; its remaining reserve stays locked
                rests = True
                tlevels[(book.bids if is_bid else book.asks).add(o)] = None
                self._orders[oid] = o
                ao = self._acct_orders.get(acct)
                if ao is None:
                    self._acct_orders[acct] = {oid: o}
                else:
                    ao[oid] = o
                if cid is not None:
                    self._client_ids[acct << 32 | cid] = o
            else:
                o.status = EXPIRED
                seq += 1
                events.append(_ev_expired(seq, ts, o, REASON_UNFILLED))
        if reserve and not rests:
            bal.locked -= reserve
            bal.available += reserve
        events = self._finish(events, seq, ts, book, tlevels, touched)
        if book.last_trade_id != traded_before and (book.triggers_above or book.triggers_below):
            if not self._firing:
                self._fire(book, events, ts)
        return events

    def _place_trigger(
        self,
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
        """A trigger order: checked as far as it can be before its trigger price is reached
        (what depends on the book then, such as post-only or fill-or-kill, is checked when it is
        placed), its reserve locked, set aside on its book's trigger list."""
        m = book.market
        tp = c.trigger_price
        if type(tp) is not int or not m.min_price <= tp <= m.max_price:
            return self._reject(
                c, INVALID_PRICE, f"trigger price must be an integer in [{m.min_price}, {m.max_price}] ticks"
            )
        last = book.last_price
        if last is None:
            return self._reject(c, INVALID_ORDER, f"no trade in {m.symbol} yet: a trigger needs a last price")
        if tp == last:
            return self._reject(c, INVALID_ORDER, "the trigger price is the last price: place the order")
        price = c.price
        qty = c.quantity
        qq = c.quote_quantity
        is_bid = side is BID
        if otype is LIMIT:
            if qq is not None:
                return self._reject(c, INVALID_ORDER, "quote_quantity is only for market buy orders")
            err = _limit_error(m, price, qty)
            if err is not None:
                return self._reject(c, err[0], err[1])
            if post_only and tif is not GTC:
                return self._reject(c, INVALID_ORDER, "post-only orders must be GTC")
            fee_bps = m.maker_fee_bps if m.maker_fee_bps > m.taker_fee_bps else m.taker_fee_bps
        else:
            if price is not None:
                return self._reject(c, INVALID_ORDER, "price is not allowed on a market order")
            if post_only:
                return self._reject(c, INVALID_ORDER, "a market order cannot be post-only")
            fee_bps = m.taker_fee_bps
            if qq is not None:
                if qty is not None:
                    return self._reject(c, INVALID_ORDER, "give either quantity or quote_quantity, not both")
                if not is_bid:
                    return self._reject(c, INVALID_ORDER, "quote_quantity is only for market buy orders")
                if tif is FOK:
                    return self._reject(c, INVALID_ORDER, "FOK is not supported with quote_quantity")
                if type(qq) is not int or qq <= 0:
                    return self._reject(c, INVALID_QUANTITY, "quote_quantity must be a positive integer")
                if qq < m.min_notional:
                    return self._reject(
                        c, INVALID_ORDER, f"order value is below the min notional of {m.min_notional}"
                    )
            else:
                err = _limit_error(m, tp, qty)  # valued at its trigger price
                if err is not None:
                    return self._reject(c, err[0], err[1])
            if tif is not FOK:
                tif = IOC  # market orders are immediate-or-cancel
        # ---- accepted
        ts = c.ts
        o = Order(0, acct, m.symbol, side, otype, tif, post_only, stp, cid, price, qty, qq, qty, 0, 0,
                  TRIGGER_PENDING, ts, fee_bps, tp, None)  # fmt: skip
        asset, need = trigger_reserve(o, m)
        acc = self.ledger.accounts.get(acct)
        bal = None if acc is None else acc.get(asset)
        if bal is None or bal.available < need:
            return self._reject(c, INSUFFICIENT_FUNDS, f"insufficient available {asset}")
        oid = self._last_order_id + 1
        self._last_order_id = oid
        o.order_id = oid
        bal.available -= need
        bal.locked += need
        self._orders[oid] = o
        ao = self._acct_orders.get(acct)
        if ao is None:
            self._acct_orders[acct] = {oid: o}
        else:
            ao[oid] = o
        if cid is not None:
            self._client_ids[acct << 32 | cid] = o
        book.add_trigger(o)
        seq = self._seq
        self._seq = seq + 2
        balance = _mk_balance(seq + 2, ts, acct, asset, bal.available, bal.locked)
        return [_ev_accepted(seq + 1, ts, o), balance]

    def _fire(self, book: Book, events: list, ts: int) -> None:
        """Places the trigger orders of ``book`` that its last price has reached, appending their
        events to ``events`` (the command's, after its own): one at a time, in the order the price
        reached them, each of which may trade and move the price on to others."""
        self._firing = True
        try:
            while True:
                oid = book.next_fired()
                if oid is None:
                    break
                o = self._orders[oid]
                asset, amount = trigger_reserve(o, book.market)
                bal = self.ledger.accounts[o.account][asset]
                bal.locked -= amount
                bal.available += amount
                self._drop(o)
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
                placed = self._place(command, o)
                first = placed[0]
                if type(first) is Rejected:
                    # Refused (funds, filters, the market's state): it closes, its funds unlocked.
                    # Its event takes the seq the refusal took.
                    o.status = TRIGGER_FAILED
                    seq = self._seq
                    events.append(_ev_trigger_failed(seq, ts, o, first.code))
                    seq += 1
                    events.append(_mk_balance(seq, ts, o.account, asset, bal.available, bal.locked))
                    self._seq = seq
                else:
                    events.extend(placed)
        finally:
            self._firing = False

    def _walk(
        self, opp: BookSide, acct: int, stp: str, limit: int | None, qty: int, k: int, t_bps: int
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
                n = unit * f
                cost += n + n * t_bps // 10000
                filled += f
                if filled == qty:
                    return filled, cost
        return filled, cost

    # The two matching loops below are the hot path: they are written out flat, with local
    # variables, and mirror each other (a buy taking asks, a sell taking bids).

    def _take_asks(
        self,
        book: Book,
        m: Market,
        o: Order,
        limit: int | None,
        budget: bool,
        reserve: int,
        seq: int,
        ts: int,
        events: list,
        touched: dict[Balance, None],
        tlevels: dict[Level, None],
    ) -> tuple[int, int, str | None]:
        """Matches bid ``o`` against the asks. ``limit``: its price (``None`` for a market order);
        ``budget``: True for a market buy by quote budget; ``reserve``: what it has locked.
        Returns ``(seq, reserve left locked, None or 'stp')``."""
        asks = book.asks
        next_best = asks.best
        if next_best is None or (limit is not None and next_best > limit):
            return seq, reserve, None
        best: int = next_best
        has_limit = limit is not None
        lim: int = limit if limit is not None else 0
        levels = asks.levels
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
        accounts = self.ledger.accounts
        tacc = accounts[acct]
        tq = tacc[quote]
        tb = None
        fee_bal = None
        sym = book.symbol
        stp = o.stp
        rem: int = 0 if budget else o.remaining  # type: ignore[assignment]  # None for a budget order
        oid = o.order_id
        trade_id = book.last_trade_id
        last_px = 0  # the price of the last trade made here
        orders_index = self._orders
        stopped = None
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
                        stopped = "stp"
                        break
                    changed = True
                    mo.status = CANCELLED
                    q.popleft()
                    srem: int = mo.remaining  # type: ignore[assignment]
                    level.total -= srem
                    amt = srem * bpl
                    mb = tacc[base]
                    mb.locked -= amt
                    mb.available += amt
                    touched[mb] = None
                    self._drop(mo)
                    seq += 1
                    events.append(_ev_cancelled(seq, ts, mo, REASON_SELF_TRADE))
                    if stp is REJECT_BOTH:
                        stopped = "stp"
                        break
                    continue
                mrem: int = mo.remaining  # type: ignore[assignment]  # a resting order's
                if budget:
                    f = _affordable(unit, reserve, t_bps)
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
                mfee = mo.fee_bps
                if mfee > mk_bps:
                    mfee = mk_bps
                mfee = n * mfee // 10000
                base_amt = f * bpl
                # maker: the seller gives base from its lock, receives quote minus its fee
                macc = accounts[mo.account]
                mbal = macc[base]
                mbal.locked -= base_amt
                touched[mbal] = None
                mqb = macc.get(quote)
                if mqb is None:
                    mqb = macc[quote] = Balance(mo.account, quote)
                mqb.available += n - mfee
                touched[mqb] = None
                # taker: receives base, pays notional + fee from its lock
                if tb is None:
                    tb = tacc.get(base)
                    if tb is None:
                        tb = tacc[base] = Balance(acct, base)
                    touched[tb] = None
                tb.available += base_amt
                spent = n + tfee
                tq.locked -= spent
                if has_limit:
                    r2 = rem - f
                    nn = lim * r2 * k
                    nn += nn * cap // 10000
                    excess = reserve - spent - nn  # price improvement + fee rounding
                    if excess:
                        tq.locked -= excess
                        tq.available += excess
                    reserve = nn
                else:
                    reserve -= spent
                if tfee or mfee:
                    if fee_bal is None:
                        fee_bal = self._entry(FEE_ACCOUNT, quote)
                        touched[fee_bal] = None
                    fee_bal.available += tfee + mfee
                # order states
                mrem -= f
                mo.remaining = mrem
                mo.executed += f
                mo.executed_quote += n
                level.total -= f
                if mrem == 0:
                    mo.status = FILLED
                    q.popleft()
                    moid = mo.order_id
                    del orders_index[moid]
                    ao = self._acct_orders[mo.account]
                    del ao[moid]
                    if not ao:
                        del self._acct_orders[mo.account]
                    if mo.client_id is not None:
                        del self._client_ids[mo.account << 32 | mo.client_id]
                else:
                    mo.status = PARTIALLY_FILLED
                o.executed += f
                o.executed_quote += n
                if budget:
                    more = unit + unit * t_bps // 10000 <= reserve
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
                events.append(
                    _mk_trade(
                        seq + 1,
                        ts,
                        sym,
                        trade_id,
                        best,
                        f,
                        n,
                        oid,
                        mo.order_id,
                        acct,
                        mo.account,
                        False,
                        tfee,
                        mfee,
                        quote,
                    )
                )
                events.append(_ev_filled(seq + 2, ts, mo, trade_id, best, f, n, mfee, quote, True))
                events.append(_ev_filled(seq + 3, ts, o, trade_id, best, f, n, tfee, quote, False))
                seq += 3
                if done:
                    break
            if changed:
                tlevels[level] = None
            if level.total == 0:
                asks.remove_level(level)
            if done or stopped:
                break
            next_best = asks.best
            if next_best is None or (has_limit and next_best > lim):
                break
            best = next_best
        if trade_id != book.last_trade_id:
            book.last_price = last_px
        book.last_trade_id = trade_id
        return seq, reserve, stopped

    def _take_bids(
        self,
        book: Book,
        m: Market,
        o: Order,
        limit: int | None,
        reserve: int,
        seq: int,
        ts: int,
        events: list,
        touched: dict[Balance, None],
        tlevels: dict[Level, None],
    ) -> tuple[int, int, str | None]:
        """Matches ask ``o`` against the bids (see ``_take_asks``)."""
        bids = book.bids
        next_best = bids.best
        if next_best is None or (limit is not None and next_best < limit):
            return seq, reserve, None
        best: int = next_best
        has_limit = limit is not None
        lim: int = limit if limit is not None else 0
        levels = bids.levels
        k = m.quote_per_tick_lot
        bpl = m.base_per_lot
        base = m.base
        quote = m.quote
        mk_bps = m.maker_fee_bps
        t_bps = m.taker_fee_bps
        if t_bps > o.fee_bps:
            t_bps = o.fee_bps
        acct = o.account
        accounts = self.ledger.accounts
        tacc = accounts[acct]
        tb = tacc[base]
        tq = None
        fee_bal = None
        sym = book.symbol
        stp = o.stp
        rem: int = o.remaining  # type: ignore[assignment]  # a sell always has a quantity
        oid = o.order_id
        trade_id = book.last_trade_id
        last_px = 0  # the price of the last trade made here
        orders_index = self._orders
        stopped = None
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
                        stopped = "stp"
                        break
                    changed = True
                    mo.status = CANCELLED
                    q.popleft()
                    srem: int = mo.remaining  # type: ignore[assignment]
                    level.total -= srem
                    nn = unit * srem
                    amt = nn + nn * mo.fee_bps // 10000
                    mb = tacc[quote]
                    mb.locked -= amt
                    mb.available += amt
                    touched[mb] = None
                    self._drop(mo)
                    seq += 1
                    events.append(_ev_cancelled(seq, ts, mo, REASON_SELF_TRADE))
                    if stp is REJECT_BOTH:
                        stopped = "stp"
                        break
                    continue
                mrem: int = mo.remaining  # type: ignore[assignment]  # a resting order's
                f = rem if rem < mrem else mrem
                changed = True
                n = unit * f
                tfee = n * t_bps // 10000
                mcap = mo.fee_bps
                mfee = n * (mk_bps if mk_bps < mcap else mcap) // 10000
                base_amt = f * bpl
                # maker: the buyer pays notional + fee from its lock; R(r) - R(r - f) is released
                macc = accounts[mo.account]
                mbal = macc[quote]
                r_old = unit * mrem
                r_old += r_old * mcap // 10000
                mrem -= f
                r_new = unit * mrem
                r_new += r_new * mcap // 10000
                release = r_old - r_new
                mbal.locked -= release
                mbal.available += release - n - mfee
                touched[mbal] = None
                mbb = macc.get(base)
                if mbb is None:
                    mbb = macc[base] = Balance(mo.account, base)
                mbb.available += base_amt
                touched[mbb] = None
                # taker: gives base from its lock, receives quote minus its fee
                tb.locked -= base_amt
                reserve -= base_amt
                if tq is None:
                    tq = tacc.get(quote)
                    if tq is None:
                        tq = tacc[quote] = Balance(acct, quote)
                    touched[tq] = None
                tq.available += n - tfee
                if tfee or mfee:
                    if fee_bal is None:
                        fee_bal = self._entry(FEE_ACCOUNT, quote)
                        touched[fee_bal] = None
                    fee_bal.available += tfee + mfee
                # order states
                mo.remaining = mrem
                mo.executed += f
                mo.executed_quote += n
                level.total -= f
                if mrem == 0:
                    mo.status = FILLED
                    q.popleft()
                    moid = mo.order_id
                    del orders_index[moid]
                    ao = self._acct_orders[mo.account]
                    del ao[moid]
                    if not ao:
                        del self._acct_orders[mo.account]
                    if mo.client_id is not None:
                        del self._client_ids[mo.account << 32 | mo.client_id]
                else:
                    mo.status = PARTIALLY_FILLED
                rem -= f
                o.remaining = rem
                o.executed += f
                o.executed_quote += n
                if rem == 0:
                    o.status = FILLED
                    done = True
                else:
                    o.status = PARTIALLY_FILLED
                trade_id += 1
                last_px = best
                events.append(
                    _mk_trade(
                        seq + 1,
                        ts,
                        sym,
                        trade_id,
                        best,
                        f,
                        n,
                        mo.order_id,
                        oid,
                        mo.account,
                        acct,
                        True,
                        mfee,
                        tfee,
                        quote,
                    )
                )
                events.append(_ev_filled(seq + 2, ts, mo, trade_id, best, f, n, mfee, quote, True))
                events.append(_ev_filled(seq + 3, ts, o, trade_id, best, f, n, tfee, quote, False))
                seq += 3
                if done:
                    break
            if changed:
                tlevels[level] = None
            if level.total == 0:
                bids.remove_level(level)
            if done or stopped:
                break
            next_best = bids.best
            if next_best is None or (has_limit and next_best < lim):
                break
            best = next_best
        if trade_id != book.last_trade_id:
            book.last_price = last_px
        book.last_trade_id = trade_id
        return seq, reserve, stopped


def _order_id_key(o: Order) -> int:
    return o.order_id
