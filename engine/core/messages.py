"""The engine's message contract: the commands it accepts and the events it emits.

Everything here is integers and short strings so the core stays exact and cheap:
prices are in ticks of the market's ``tick_size``, quantities in lots of its ``step_size``,
asset amounts in the asset's smallest unit (10**-decimals). Decimals exist only at the
edges (``engine.core.units``). Every command carries ``ts`` (milliseconds since the epoch,
taken from the Redis stream entry id) so that the core never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- vocabulary -------------------------------------------------------------------------

BID = "Bid"
ASK = "Ask"
SIDES = (BID, ASK)

LIMIT = "Limit"
MARKET = "Market"
ORDER_TYPES = (LIMIT, MARKET)

GTC = "GTC"
IOC = "IOC"
FOK = "FOK"
TIMES_IN_FORCE = (GTC, IOC, FOK)

REJECT_TAKER = "RejectTaker"
REJECT_MAKER = "RejectMaker"
REJECT_BOTH = "RejectBoth"
STP_MODES = (REJECT_TAKER, REJECT_MAKER, REJECT_BOTH)

# Order status, as on the wire.
NEW = "New"
PARTIALLY_FILLED = "PartiallyFilled"
FILLED = "Filled"
CANCELLED = "Cancelled"
EXPIRED = "Expired"

# Market state, as the wire's ``orderBookState``.
OPEN = "Open"
POST_ONLY = "PostOnly"
CANCEL_ONLY = "CancelOnly"
CLOSED = "Closed"  # halted: nothing is accepted, not even cancels
MARKET_STATES = (OPEN, POST_ONLY, CANCEL_ONLY, CLOSED)

# The account that collects every fee. Real accounts are positive integers.
FEE_ACCOUNT = 0

# Why an order left the book (``OrderCancelled.reason`` / ``OrderExpired.reason``).
REASON_USER = "user"
REASON_SELF_TRADE = "selfTradePrevention"
REASON_UNFILLED = "unfilled"  # IOC / market remainder that could not trade


# --- commands -----------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class AddAsset:
    ts: int
    symbol: str
    decimals: int


@dataclass(slots=True, kw_only=True)
class AddMarket:
    """Adds a market. ``tick_size``/``step_size`` are decimal strings, kept for the edges;
    the integer unit factors below are what the core computes with."""

    ts: int
    symbol: str
    base: str
    quote: str
    tick_size: str
    step_size: str
    min_price: int  # ticks
    max_price: int  # ticks
    min_quantity: int  # lots
    max_quantity: int  # lots
    min_notional: int  # quote units
    maker_fee_bps: int
    taker_fee_bps: int
    state: str = OPEN


@dataclass(slots=True, kw_only=True)
class UpdateMarket:
    """Changes a market's limits, fees or state; ``None`` leaves a field as it is.
    Halt = ``state=CLOSED``, resume = ``state=OPEN``."""

    ts: int
    symbol: str
    state: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    min_quantity: int | None = None
    max_quantity: int | None = None
    min_notional: int | None = None
    maker_fee_bps: int | None = None
    taker_fee_bps: int | None = None


@dataclass(slots=True, kw_only=True)
class Deposit:
    ts: int
    account: int
    asset: str
    amount: int  # asset units, > 0
    tx_id: str  # idempotency key: a repeated tx_id changes nothing


@dataclass(slots=True, kw_only=True)
class Withdraw:
    ts: int
    account: int
    asset: str
    amount: int
    tx_id: str


@dataclass(slots=True, kw_only=True)
class PlaceOrder:
    ts: int
    account: int
    market: str
    side: str
    order_type: str
    quantity: int | None = None  # lots; None only for a market buy by quote budget
    price: int | None = None  # ticks; limit orders only
    quote_quantity: int | None = None  # quote units; market buy by budget only
    time_in_force: str = GTC  # market orders are always IOC
    post_only: bool = False
    self_trade_prevention: str = REJECT_TAKER
    client_id: int | None = None  # uint32, unique among the account's open orders


@dataclass(slots=True, kw_only=True)
class CancelOrder:
    ts: int
    account: int
    market: str
    order_id: int | None = None
    client_id: int | None = None


@dataclass(slots=True, kw_only=True)
class CancelAll:
    ts: int
    account: int
    market: str


Command = AddAsset | AddMarket | UpdateMarket | Deposit | Withdraw | PlaceOrder | CancelOrder | CancelAll


# --- events -------------------------------------------------------------------------------
# Every event carries ``seq``: the engine's global sequence number, increasing by one per
# event, continuous across snapshots and restarts. Downstream writers are idempotent on it.


@dataclass(slots=True, kw_only=True)
class Rejected:
    """A command that changed nothing. ``code`` is one of the API error codes of
    ``shared/API.md`` (``INVALID_PRICE``, ``INSUFFICIENT_FUNDS``, ...)."""

    seq: int
    ts: int
    command: str  # the command class name
    account: int | None
    market: str | None
    client_id: int | None
    code: str
    message: str


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
class Deposited:
    seq: int
    ts: int
    account: int
    asset: str
    amount: int
    tx_id: str


@dataclass(slots=True, kw_only=True)
class Withdrawn:
    seq: int
    ts: int
    account: int
    asset: str
    amount: int
    tx_id: str


@dataclass(slots=True, kw_only=True)
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


@dataclass(slots=True, kw_only=True)
class OrderAccepted(OrderEvent):
    pass


@dataclass(slots=True, kw_only=True)
class OrderFilled(OrderEvent):
    trade_id: int
    fill_price: int  # ticks
    fill_quantity: int  # lots
    fill_quote_quantity: int  # quote units
    fee: int  # units of fee_asset
    fee_asset: str
    is_maker: bool


@dataclass(slots=True, kw_only=True)
class OrderCancelled(OrderEvent):
    reason: str  # REASON_USER or REASON_SELF_TRADE


@dataclass(slots=True, kw_only=True)
class OrderExpired(OrderEvent):
    reason: str  # REASON_UNFILLED or REASON_SELF_TRADE


@dataclass(slots=True, kw_only=True)
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


@dataclass(slots=True, kw_only=True)
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


@dataclass(slots=True, kw_only=True)
class BalanceChanged:
    """An account's balance of one asset after a command (one per touched account/asset
    per command, emitted after the command's other events)."""

    seq: int
    ts: int
    account: int
    asset: str
    available: int
    locked: int


Event = (
    Rejected
    | AssetAdded
    | MarketChanged
    | Deposited
    | Withdrawn
    | OrderAccepted
    | OrderFilled
    | OrderCancelled
    | OrderExpired
    | Trade
    | DepthChanged
    | BalanceChanged
)
