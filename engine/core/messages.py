"""The engine's message contract: the commands it accepts and the events it emits.

Everything here is integers and short strings so the core stays exact and cheap:
prices are in ticks of the market's ``tick_size``, quantities in lots of its ``step_size``,
asset amounts in the asset's smallest unit (10**-decimals). Decimals exist only at the
edges (``engine.core.units``). Every command carries ``ts`` (milliseconds since the epoch,
taken from the Redis stream entry id) so that the core never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- vocabulary -------------------------------------------------------------------------
# ``Final``: a compiled engine (mypyc) then uses these values directly instead of looking the names
# up at run time. The strings are identifiers, so CPython interns them as mypyc does its own
# literals: the engine's identity comparisons hold in both builds (a test checks they are interned).

BID: Final = "Bid"
ASK: Final = "Ask"
SIDES: Final = (BID, ASK)

LIMIT: Final = "Limit"
MARKET: Final = "Market"
ORDER_TYPES: Final = (LIMIT, MARKET)

GTC: Final = "GTC"
IOC: Final = "IOC"
FOK: Final = "FOK"
TIMES_IN_FORCE: Final = (GTC, IOC, FOK)

REJECT_TAKER: Final = "RejectTaker"
REJECT_MAKER: Final = "RejectMaker"
REJECT_BOTH: Final = "RejectBoth"
STP_MODES: Final = (REJECT_TAKER, REJECT_MAKER, REJECT_BOTH)

# Order status, as on the wire.
NEW: Final = "New"
PARTIALLY_FILLED: Final = "PartiallyFilled"
FILLED: Final = "Filled"
CANCELLED: Final = "Cancelled"
EXPIRED: Final = "Expired"
TRIGGER_PENDING: Final = "TriggerPending"  # a trigger order waiting for its trigger price
TRIGGER_FAILED: Final = "TriggerFailed"  # reached its trigger price but could not be placed

# Market state, as the wire's ``orderBookState``.
OPEN: Final = "Open"
POST_ONLY: Final = "PostOnly"
CANCEL_ONLY: Final = "CancelOnly"
CLOSED: Final = "Closed"  # halted: nothing is accepted, not even cancels
MARKET_STATES: Final = (OPEN, POST_ONLY, CANCEL_ONLY, CLOSED)

# The account that collects every fee. Real accounts are positive integers.
FEE_ACCOUNT: Final = 0

# Why an order left the book (``OrderCancelled.reason`` / ``OrderExpired.reason``).
REASON_USER: Final = "user"
REASON_SELF_TRADE: Final = "selfTradePrevention"
REASON_UNFILLED: Final = "unfilled"  # IOC / market remainder that could not trade


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
    tick_size: str  # one tick: the price grid's step, e.g. "0.01"
    step_size: str  # one lot: the quantity grid's step, e.g. "0.001"
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
class _Transfer:
    ts: int
    account: int
    asset: str
    amount: int  # asset units, > 0
    tx_id: str  # idempotency key: a repeated tx_id changes nothing


@dataclass(slots=True, kw_only=True)
class Deposit(_Transfer):
    """Credits ``amount`` to the account's available balance."""


@dataclass(slots=True, kw_only=True)
class Withdraw(_Transfer):
    """Takes ``amount`` from the account's available balance (refused beyond it)."""


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
    # ticks: rest off the book (TriggerPending, its funds locked) until the market's last trade
    # price reaches this from the side it is on now, then be placed as the order described
    trigger_price: int | None = None


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
# All but ``Rejected`` are defined in ``events`` (so that they can be compiled: see there) and
# are part of this module's contract all the same.

from .events import (  # noqa: E402, F401 - re-exported: part of this module's contract
    AssetAdded,
    BalanceChanged,
    Deposited,
    DepthChanged,
    MarketChanged,
    OrderAccepted,
    OrderCancelled,
    OrderClosed,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderTriggered,
    OrderTriggerFailed,
    Trade,
    Transfer,
    Withdrawn,
)


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
    | OrderTriggered
    | OrderTriggerFailed
    | Trade
    | DepthChanged
    | BalanceChanged
)
