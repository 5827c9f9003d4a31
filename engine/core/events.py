"""The events the engine builds (part of the message contract: ``messages`` re-exports them,
import them from there).

Each is a keyword-only dataclass. Those built on the hot path (order events, trades, depth and
balance changes) have their ``__init__`` written out (``init=False``): the same constructor
``dataclass`` would generate, but one that mypyc compiles into a direct C call when this module is
built (``scripts/build_core.py``); a generated ``__init__`` is interpreted Python even in a
compiled class, which is good enough for the rare ones (assets, markets, transfers).
``tests/engine_core/test_events.py`` checks that every ``__init__`` takes exactly the fields,
keyword-only, in order. ``Rejected`` stays in ``messages``: it echoes fields of a command that
failed validation, of any type, which a compiled class would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AssetAdded",
    "MarketChanged",
    "Transfer",
    "Deposited",
    "Withdrawn",
    "OrderEvent",
    "OrderAccepted",
    "OrderFilled",
    "OrderClosed",
    "OrderCancelled",
    "OrderExpired",
    "OrderTriggered",
    "OrderTriggerFailed",
    "Trade",
    "DepthChanged",
    "BalanceChanged",
]


@dataclass(slots=True, kw_only=True)
class AssetAdded:
    seq: int
    ts: int
    symbol: str
    decimals: int


@dataclass(slots=True, kw_only=True)
class MarketChanged:
    """A market was added or updated; carries the full resulting definition."""

    seq: int
    ts: int
    symbol: str
    base: str
    quote: str
    tick_size: str
    step_size: str
    min_price: int
    max_price: int
    min_quantity: int
    max_quantity: int
    min_notional: int
    maker_fee_bps: int
    taker_fee_bps: int
    state: str


@dataclass(slots=True, kw_only=True)
class Transfer:
    """A deposit or a withdrawal of ``amount`` units of ``asset``."""

    seq: int
    ts: int
    account: int
    asset: str
    amount: int
    tx_id: str


@dataclass(slots=True, kw_only=True)
class Deposited(Transfer):
    pass


@dataclass(slots=True, kw_only=True)
class Withdrawn(Transfer):
    pass


@dataclass(slots=True, kw_only=True, init=False)
class OrderEvent:
    """Fields shared by every order event: the whole order as it stands after the event,
    so that any one event is enough to render the wire's order object."""

    seq: int
    ts: int
    order_id: int
    account: int
    market: str
    side: str
    order_type: str
    time_in_force: str
    post_only: bool
    self_trade_prevention: str
    client_id: int | None
    price: int | None  # ticks
    quantity: int | None  # lots
    quote_quantity: int | None  # quote units (market buy by budget)
    executed_quantity: int  # lots
    executed_quote_quantity: int  # quote units, before fees
    status: str
    created_ts: int
    fee_bps: int  # the fee rate its reserve is computed with (``engine.core.engine``)
    trigger_price: int | None  # ticks: a trigger order's, pending (TriggerPending) or placed
    # Its place in time priority, drawn from the order ids: its id, or for a trigger order the
    # id drawn when it was placed on the book (None while pending).
    priority: int | None

    def __init__(
        self,
        *,
        seq: int,
        ts: int,
        order_id: int,
        account: int,
        market: str,
        side: str,
        order_type: str,
        time_in_force: str,
        post_only: bool,
        self_trade_prevention: str,
        client_id: int | None,
        price: int | None,
        quantity: int | None,
        quote_quantity: int | None,
        executed_quantity: int,
        executed_quote_quantity: int,
        status: str,
        created_ts: int,
        fee_bps: int,
        trigger_price: int | None,
        priority: int | None,
    ) -> None:
        self.seq = seq
        self.ts = ts
        self.order_id = order_id
        self.account = account
        self.market = market
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.post_only = post_only
        self.self_trade_prevention = self_trade_prevention
        self.client_id = client_id
        self.price = price
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.executed_quantity = executed_quantity
        self.executed_quote_quantity = executed_quote_quantity
        self.status = status
        self.created_ts = created_ts
        self.fee_bps = fee_bps
        self.trigger_price = trigger_price
        self.priority = priority


@dataclass(slots=True, kw_only=True, init=False)
class OrderAccepted(OrderEvent):
    pass


@dataclass(slots=True, kw_only=True, init=False)
class OrderFilled(OrderEvent):
    trade_id: int
    fill_price: int  # ticks
    fill_quantity: int  # lots
    fill_quote_quantity: int  # quote units
    fee: int  # units of fee_asset
    fee_asset: str
    is_maker: bool

    def __init__(
        self,
        *,
        seq: int,
        ts: int,
        order_id: int,
        account: int,
        market: str,
        side: str,
        order_type: str,
        time_in_force: str,
        post_only: bool,
        self_trade_prevention: str,
        client_id: int | None,
        price: int | None,
        quantity: int | None,
        quote_quantity: int | None,
        executed_quantity: int,
        executed_quote_quantity: int,
        status: str,
        created_ts: int,
        fee_bps: int,
        trigger_price: int | None,
        priority: int | None,
        trade_id: int,
        fill_price: int,
        fill_quantity: int,
        fill_quote_quantity: int,
        fee: int,
        fee_asset: str,
        is_maker: bool,
    ) -> None:
        self.seq = seq
        self.ts = ts
        self.order_id = order_id
        self.account = account
        self.market = market
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.post_only = post_only
        self.self_trade_prevention = self_trade_prevention
        self.client_id = client_id
        self.price = price
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.executed_quantity = executed_quantity
        self.executed_quote_quantity = executed_quote_quantity
        self.status = status
        self.created_ts = created_ts
        self.fee_bps = fee_bps
        self.trigger_price = trigger_price
        self.priority = priority
        self.trade_id = trade_id
        self.fill_price = fill_price
        self.fill_quantity = fill_quantity
        self.fill_quote_quantity = fill_quote_quantity
        self.fee = fee
        self.fee_asset = fee_asset
        self.is_maker = is_maker


@dataclass(slots=True, kw_only=True, init=False)
class OrderClosed(OrderEvent):
    """An order event that closes the order, and why."""

    reason: str

    def __init__(
        self,
        *,
        seq: int,
        ts: int,
        order_id: int,
        account: int,
        market: str,
        side: str,
        order_type: str,
        time_in_force: str,
        post_only: bool,
        self_trade_prevention: str,
        client_id: int | None,
        price: int | None,
        quantity: int | None,
        quote_quantity: int | None,
        executed_quantity: int,
        executed_quote_quantity: int,
        status: str,
        created_ts: int,
        fee_bps: int,
        trigger_price: int | None,
        priority: int | None,
        reason: str,
    ) -> None:
        self.seq = seq
        self.ts = ts
        self.order_id = order_id
        self.account = account
        self.market = market
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.post_only = post_only
        self.self_trade_prevention = self_trade_prevention
        self.client_id = client_id
        self.price = price
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.executed_quantity = executed_quantity
        self.executed_quote_quantity = executed_quote_quantity
        self.status = status
        self.created_ts = created_ts
        self.fee_bps = fee_bps
        self.trigger_price = trigger_price
        self.priority = priority
        self.reason = reason


@dataclass(slots=True, kw_only=True, init=False)
class OrderCancelled(OrderClosed):
    """Cancelled: ``reason`` is ``REASON_USER`` or ``REASON_SELF_TRADE``."""


@dataclass(slots=True, kw_only=True, init=False)
class OrderExpired(OrderClosed):
    """Expired: ``reason`` is ``REASON_UNFILLED`` or ``REASON_SELF_TRADE``."""


@dataclass(slots=True, kw_only=True, init=False)
class OrderTriggered(OrderEvent):
    """A trigger order's trigger price was reached and it was placed (status ``New``; its fills
    and fate follow as any order's)."""


@dataclass(slots=True, kw_only=True, init=False)
class OrderTriggerFailed(OrderClosed):
    """A trigger order whose trigger price was reached but that could not be placed then (funds,
    the market's filters or state): it is closed, its funds unlocked. ``reason`` is the API error
    code of what kept it from being placed (``INSUFFICIENT_FUNDS``, ...)."""


@dataclass(slots=True, kw_only=True, init=False)
class Trade:
    seq: int
    ts: int
    market: str
    trade_id: int  # sequential per market, from 1
    price: int  # ticks
    quantity: int  # lots
    quote_quantity: int  # quote units
    buyer_order_id: int
    seller_order_id: int
    buyer_account: int
    seller_account: int
    is_buyer_maker: bool
    buyer_fee: int  # fee asset units
    seller_fee: int
    fee_asset: str

    def __init__(
        self,
        *,
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
    ) -> None:
        self.seq = seq
        self.ts = ts
        self.market = market
        self.trade_id = trade_id
        self.price = price
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.buyer_order_id = buyer_order_id
        self.seller_order_id = seller_order_id
        self.buyer_account = buyer_account
        self.seller_account = seller_account
        self.is_buyer_maker = is_buyer_maker
        self.buyer_fee = buyer_fee
        self.seller_fee = seller_fee
        self.fee_asset = fee_asset


@dataclass(slots=True, kw_only=True, init=False)
class DepthChanged:
    """One price level's new total; ``quantity == 0`` removes the level.
    ``update_id`` is per market and increases by exactly one per change."""

    seq: int
    ts: int
    market: str
    side: str
    price: int  # ticks
    quantity: int  # lots
    update_id: int

    def __init__(
        self,
        *,
        seq: int,
        ts: int,
        market: str,
        side: str,
        price: int,
        quantity: int,
        update_id: int,
    ) -> None:
        self.seq = seq
        self.ts = ts
        self.market = market
        self.side = side
        self.price = price
        self.quantity = quantity
        self.update_id = update_id


@dataclass(slots=True, kw_only=True, init=False)
class BalanceChanged:
    """An account's balance of one asset after a command (one per touched account/asset
    per command, emitted after the command's other events)."""

    seq: int
    ts: int
    account: int
    asset: str
    available: int
    locked: int

    def __init__(self, *, seq: int, ts: int, account: int, asset: str, available: int, locked: int) -> None:
        self.seq = seq
        self.ts = ts
        self.account = account
        self.asset = asset
        self.available = available
        self.locked = locked


def _restore_field_types() -> None:
    """Compiled, the classes' annotations are runtime types, and a union (``int | None``) becomes
    ``type``: the dataclass fields' ``type`` is set back to the source's annotation strings, as
    they are in plain Python (the codec reads them)."""
    import ast
    import os

    from .native import DIR  # (a compiled module's __file__ is its build-time relative path)

    path = os.path.join(DIR, "events.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in __all__:
            fields = globals()[node.name].__dataclass_fields__
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    fields[stmt.target.id].type = ast.unparse(stmt.annotation)
    # inherited fields (OrderEvent's in its subclasses) are the same Field objects: checked here
    for name in __all__:
        for f in globals()[name].__dataclass_fields__.values():
            if not isinstance(f.type, str):
                raise RuntimeError(f"{name}.{f.name}: no annotation string")


if not isinstance(AssetAdded.__dataclass_fields__["ts"].type, str):
    _restore_field_types()
