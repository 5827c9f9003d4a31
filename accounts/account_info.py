"""Backpack's account endpoints as a spot-only exchange answers them (``/api/v1/account`` and
``/api/v1/account/limits/...``).

Backpack's account object and limits describe margin, lending and futures as well as spot
trading. Here there is only spot trading on funds deposited in full, so the margin settings have
one value each (no automatic lending or borrowing, leverage 1, nothing to borrow), and the
limits are what the account's balances allow. The reads follow ``accounts.selectors``: balances
and open orders from the engine's Redis cache, markets from the database.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max

from accounts import order_input
from contract import md_cache
from contract.wire import plain
from engine.core import reserves, units
from exchange_site.redis_client import get_redis
from markets import selectors as market_selectors
from markets.models import Market

from . import error_codes as errors
from . import selectors

# The settings a margin account can change, with the only value a spot-only account has.
FIXED_FLAGS = ("autoBorrowSettlements", "autoLend", "autoRepayBorrows")
# The margin options of Backpack's order limit query; none can be set here.
ORDER_MARGIN_FLAGS = ("reduceOnly", "autoBorrow", "autoBorrowRepay", "autoLendRedeem")
LEVERAGE_LIMIT = Decimal(1)
TRIGGER_PENDING = "TriggerPending"


def _fee_bps() -> tuple[int, int]:
    """The highest maker and taker fee of any market, in basis points (0 with no market).

    Backpack has one fee rate per account; here each market has its own. The highest is what
    an order can cost at most anywhere, and is exact when every market charges the same.
    """
    highest = Market.objects.aggregate(maker=Max("maker_fee_bps"), taker=Max("taker_fee_bps"))
    return highest["maker"] or 0, highest["taker"] or 0


def account_object(user: AbstractBaseUser) -> dict:
    """``GET /api/v1/account``: Backpack's account object for a spot-only account."""
    maker_bps, taker_bps = _fee_bps()
    open_orders = selectors.open_orders(user)
    trigger_orders = sum(1 for order in open_orders if order.get("status") == TRIGGER_PENDING)
    return {
        "autoBorrowSettlements": False,
        "autoLend": False,
        "autoRealizePnl": False,
        "autoRepayBorrows": False,
        "borrowLimit": "0",
        # No futures markets: nothing is charged there.
        "futuresMakerFee": "0",
        "futuresTakerFee": "0",
        "leverageLimit": plain(LEVERAGE_LIMIT),
        # Counts of the account's open orders, as Backpack documents these two fields.
        "limitOrders": len(open_orders) - trigger_orders,
        "liquidating": False,
        "positionLimit": "0",
        # In basis points, as Backpack writes them ("5" is 0.05 %).
        "spotMakerFee": str(maker_bps),
        "spotTakerFee": str(taker_bps),
        "triggerOrders": trigger_orders,
    }


def _setting_is_fixed(name: str, value: object) -> None:
    """Refuses a setting that would make the account anything but spot-only."""
    if name == "leverageLimit":
        text = order_input.decimal_text(value, name)
        try:
            leverage = units.parse_decimal(text)
        except ValueError:
            raise errors.bad_request(f"Invalid leverageLimit: {text!r} is not a decimal") from None
        if leverage != LEVERAGE_LIMIT:
            raise errors.bad_request(
                "leverageLimit: margin trading is not offered on this spot-only exchange; "
                "the leverage limit is 1"
            )
        return
    if not isinstance(value, bool):
        raise errors.wrong_type(name, "a boolean")
    if value:
        raise errors.bad_request(
            f"{name}: borrowing and lending are not offered on this spot-only exchange; "
            "only false is accepted"
        )


def update_account(user: AbstractBaseUser, payload: object) -> dict:
    """``PATCH /api/v1/account``: Backpack's settings update, accepted only for the values the
    account already has (no automatic lending or borrowing, leverage 1), so that a client that
    sets them at start-up works; any other value is refused and nothing is stored. Returns the
    account object."""
    if not isinstance(payload, dict):
        raise errors.bad_request("The request body must be a JSON object")
    unknown = [name for name in payload if name not in (*FIXED_FLAGS, "leverageLimit")]
    if unknown:
        raise errors.unknown_fields(unknown)
    for name, value in payload.items():
        if value is not None:  # a null is an unset setting, as in orders
            _setting_is_fixed(name, value)
    return account_object(user)


# --- limits ------------------------------------------------------------------------------------


def _margin_flags_unset(flags: dict[str, bool | None]) -> None:
    """Refuses a limit asked for with margin (borrowing, lending, reduce-only): there is none."""
    for name, value in flags.items():
        if value:
            raise errors.bad_request(
                f"{name}: margin (borrowing, lending, reduce-only) is not offered on this spot-only exchange"
            )


def max_borrow(asset: str) -> dict:
    """``GET /api/v1/account/limits/borrow``: nothing can be borrowed here."""
    selectors.asset_decimals(asset)  # INVALID_SYMBOL for an unknown asset
    return {"maxBorrowQuantity": "0", "symbol": asset}


def _available(user: AbstractBaseUser, asset: str) -> Decimal:
    balance = selectors.balances(user).get(asset)
    return Decimal(balance["available"]) if balance else Decimal(0)


def max_withdrawal(
    user: AbstractBaseUser, asset: str, auto_borrow: bool | None, auto_lend_redeem: bool | None
) -> dict:
    """``GET /api/v1/account/limits/withdrawal``: the asset's available balance (what is not
    locked by open orders), since nothing can be borrowed or redeemed from a lend."""
    selectors.asset_decimals(asset)
    _margin_flags_unset({"autoBorrow": auto_borrow, "autoLendRedeem": auto_lend_redeem})
    return {
        "autoBorrow": auto_borrow,
        "autoLendRedeem": auto_lend_redeem,
        "maxWithdrawalQuantity": plain(_available(user, asset)),
        "symbol": asset,
    }


def _lots_of(quantity: Decimal, step_size: Decimal) -> int:
    """Whole lots in ``quantity`` (rounded down)."""
    return int(Fraction(quantity) // Fraction(step_size))


def _market_buy_lots(market: Market, budget: int, quote_per_tick_lot: int) -> int:
    """Most lots a market buy could take from the book as it stands, paying the taker fee.

    The fee is counted per price level, which is never less than the engine's per fill, so
    the answer never exceeds what the engine would accept.
    """
    depth = md_cache.read_depth(get_redis(), market.symbol) or {}
    lots = 0
    for price_text, quantity_text in depth.get("asks", []):  # best (lowest) first
        ticks = units.to_ticks(price_text, market.tick_size)
        level_lots = units.to_lots(quantity_text, market.step_size)
        cost = units.notional(ticks, level_lots, quote_per_tick_lot)
        cost += units.fee(cost, market.taker_fee_bps)
        if cost > budget:
            return lots + reserves.affordable(ticks * quote_per_tick_lot, budget, market.taker_fee_bps)
        budget -= cost
        lots += level_lots
    return lots


def max_order(
    user: AbstractBaseUser,
    symbol: str,
    side: str,
    price: str | None,
    flags: dict[str, bool | None],
) -> dict:
    """``GET /api/v1/account/limits/order``: the largest quantity the account's available
    balance pays for, at most the market's maximum quantity. A sell: the base asset held. A
    limit buy: the quote asset over price plus the highest fee the order could pay (what the
    engine locks). A market buy (no price): the asks of the book as it stands, with the taker
    fee."""
    _margin_flags_unset(flags)
    if side not in ("Bid", "Ask"):
        raise errors.bad_request("Invalid side: must be one of Bid, Ask")
    market = market_selectors.get_market(symbol)
    ticks = None
    if price is not None:
        value = order_input.parse_positive_decimal(price, "price", errors.INVALID_PRICE)
        ticks = order_input.on_grid(value, market.tick_size, "price", errors.INVALID_PRICE)
    if side == "Ask":
        lots = _lots_of(_available(user, market.base.symbol), market.step_size)
    else:
        k = units.quote_per_tick_lot(market.tick_size, market.step_size, market.quote.decimals)
        budget = units.to_units(_available(user, market.quote.symbol), market.quote.decimals)
        if ticks is None:
            lots = _market_buy_lots(market, budget, k)
        else:
            fee_bps = max(market.maker_fee_bps, market.taker_fee_bps)  # what the engine locks
            lots = reserves.affordable(ticks * k, budget, fee_bps)
    max_lots = _lots_of(market.max_quantity, market.step_size)
    return {
        **flags,
        "maxOrderQuantity": units.from_lots(min(lots, max_lots), market.step_size),
        "price": price,
        "side": side,
        "symbol": market.symbol,
    }
