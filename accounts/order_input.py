"""Strict parsing of order requests into the engine's integers.

Everything a client sends is checked here before anything reaches the engine, so a bad request
is answered with the code of the field that is wrong and changes nothing:
- decimals must be plain notation (``"140.55"``; never ``"1e2"``, ``" 1 "``, ``"1_000"``,
  ``"NaN"``), positive, and exactly on the market's grid (``price / tickSize`` an integer);
  JSON numbers are accepted only with their exact text (``accounts.signing.JsonNumber``);
- the structure must match the contract: no unknown fields, the right JSON types, no
  combination the order type does not allow (a price or time in force on a market order...).
The engine remains the authority on anything that depends on state (funds, the book, duplicate
client ids); this module only needs the market's definition.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from accounts import error_codes as errors
from accounts.signing import JsonNumber
from contract.wire import MarketFormat
from engine.core import units
from engine.core.messages import (
    BID,
    GTC,
    LIMIT,
    ORDER_TYPES,
    REJECT_TAKER,
    SIDES,
    STP_MODES,
    TIMES_IN_FORCE,
    PlaceOrder,
)
from exchange_site.api_errors import ApiError
from markets import selectors
from markets.models import Market

# Plain decimal notation: optional minus (so a negative value gets a clear "must be positive"),
# ASCII digits, an optional fraction with at least one digit. ``\Z`` (not ``$``) refuses "1\n".
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
# What a trigger order's trigger price is compared with: the market's last trade price.
TRIGGER_BY = "LastPrice"
# Longer inputs are never valid prices or quantities and would only cost arithmetic.
MAX_DECIMAL_CHARS = 40
UINT32_MAX = 2**32 - 1
MAX_ORDER_ID = 2**63 - 1

# Backpack's order fields for what this exchange does not have: margin (lending, borrowing,
# reduce-only), take-profit/stop-loss orders attached to an order, slippage limits, brokers.
# Clients that send them unset (null, or false for the flags) are served; a set value is refused
# rather than ignored, since ignoring it would place another order than the one asked for.
UNSUPPORTED_FLAGS = ("reduceOnly", "autoLend", "autoLendRedeem", "autoBorrow", "autoBorrowRepay")
UNSUPPORTED_VALUES = (
    "brokerId",
    "stopLossTriggerPrice",
    "stopLossLimitPrice",
    "stopLossTriggerBy",
    "takeProfitTriggerPrice",
    "takeProfitLimitPrice",
    "takeProfitTriggerBy",
    "slippageTolerance",
    "slippageToleranceType",
)
ORDER_FIELDS = frozenset(
    {
        "symbol",
        "side",
        "orderType",
        "quantity",
        "quoteQuantity",
        "price",
        "clientId",
        "timeInForce",
        "postOnly",
        "selfTradePrevention",
        "triggerPrice",
        "triggerQuantity",
        "triggerBy",
        *UNSUPPORTED_FLAGS,
        *UNSUPPORTED_VALUES,
    }
)


# --- primitive parsers -----------------------------------------------------------------------


def decimal_text(value: object, field: str) -> str:
    """The text of a decimal field: a string, or a JSON number's exact text (or, from Python
    callers such as management commands, a ``Decimal``)."""
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise errors.wrong_type(field, "a decimal string")


def parse_positive_decimal(value: object, field: str, code: str) -> Decimal:
    """A positive ``Decimal`` from plain notation; anything else is an ``ApiError(code)``."""
    text = decimal_text(value, field)
    if len(text) > MAX_DECIMAL_CHARS or not _PLAIN_DECIMAL.match(text):
        raise ApiError(code, f"Invalid {field}: {text!r} is not a decimal in plain notation")
    number = Decimal(text)
    if number <= 0:  # also "-0" and "0.000"
        raise ApiError(code, f"Invalid {field}: must be greater than zero")
    return number


def on_grid(value: Decimal, step: Decimal, field: str, code: str) -> int:
    """``value / step`` as an integer, exactly; off the grid is an ``ApiError(code)``."""
    quotient = Fraction(value) / Fraction(step)
    if quotient.denominator != 1:
        raise ApiError(code, f"Invalid {field}: {_plain(value)} is not a multiple of {_plain(step)}")
    if quotient > units.MAX_AMOUNT:
        raise ApiError(code, f"Invalid {field}: {_plain(value)} is too large")
    return int(quotient)


def parse_client_id(value: object) -> int:
    """A client order id in uint32 range: a JSON integer, or its digits as a string, which
    Backpack accepts and some client libraries send (``"clientId": "31337"``)."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,10}", value):
            raise errors.bad_request(f"Invalid clientId: {value!r} is not an integer (uint32)")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.wrong_type("clientId", "an integer (uint32)")
    if not 0 <= value <= UINT32_MAX:
        raise errors.bad_request("Invalid clientId: must be between 0 and 4294967295")
    return value


def parse_order_id(value: object) -> int:
    """An order id: the string the API returned (``"123"``) or a JSON integer."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,19}", value):
            raise errors.bad_request(f"Invalid orderId: {value!r}")
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise errors.wrong_type("orderId", "a string of digits")
    if not 0 < number <= MAX_ORDER_ID:
        raise errors.bad_request("Invalid orderId: out of range")
    return number


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _choice(payload: dict, field: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = payload.get(field)
    if value is None:
        if default is None:
            raise errors.missing_field(field)
        return default
    if not isinstance(value, str) or value not in choices:
        raise errors.bad_request(f"Invalid {field}: must be one of {', '.join(choices)}")
    return value


def _present(payload: dict, field: str) -> bool:
    # A null is an absent optional field: JSON clients commonly send ``"price": null``.
    return payload.get(field) is not None


# --- markets ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What validating an order needs from a market's definition: a snapshot, kept for a moment
    (``market_rules``) so that an order costs no query."""

    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_price: Decimal
    max_price: Decimal
    min_quantity: Decimal
    max_quantity: Decimal
    min_notional: Decimal
    format: MarketFormat

    @classmethod
    def of(cls, market: Market) -> MarketRules:
        return cls(
            symbol=market.symbol,
            tick_size=market.tick_size,
            step_size=market.step_size,
            min_price=market.min_price,
            max_price=market.max_price,
            min_quantity=market.min_quantity,
            max_quantity=market.max_quantity,
            min_notional=market.min_notional,
            format=MarketFormat.of(market),
        )


# Rules are cached per process for a moment (a query per order would cost more than the rest
# of the validation). A save in this process drops them at once; another process sees an admin
# change of limits within RULES_CACHE_TTL_S, and the engine checks the same limits anyway.
RULES_CACHE_TTL_S = 2.0
_rules: dict[str, tuple[float, MarketRules]] = {}


def forget_cached_rules() -> None:
    _rules.clear()


@selectors.on_reference_change
def _market_changed(**kwargs) -> None:
    forget_cached_rules()


def market_rules(symbol: object) -> MarketRules:
    """The rules of an existing market; ``INVALID_SYMBOL`` otherwise.

    Whether the market currently accepts orders (halted, cancel-only, post-only) is the
    engine's to say: it holds the market's live state and answers ``TRADING_PAUSED``.
    """
    if not isinstance(symbol, str):
        raise errors.wrong_type("symbol", "a string")
    now = time.monotonic()
    hit = _rules.get(symbol)
    if hit is not None and now - hit[0] < RULES_CACHE_TTL_S:
        return hit[1]
    rules = MarketRules.of(selectors.get_market(symbol))  # unknown symbols are not cached
    _rules[symbol] = (now, rules)
    return rules


# --- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValidatedOrder:
    """An order request converted to engine integers (ticks, lots, quote units): what
    ``command`` makes the engine's ``PlaceOrder`` of, for the account placing it."""

    rules: MarketRules
    side: str
    order_type: str
    quantity: int | None
    price: int | None
    quote_quantity: int | None
    time_in_force: str
    post_only: bool
    self_trade_prevention: str
    client_id: int | None
    trigger_price: int | None = None  # ticks: a trigger order

    def command(self, account: int) -> PlaceOrder:
        # ``ts`` is a placeholder: the engine takes the time from the command's stream entry id.
        return PlaceOrder(
            ts=0,
            account=account,
            market=self.rules.symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=self.quantity,
            price=self.price,
            quote_quantity=self.quote_quantity,
            time_in_force=self.time_in_force,
            post_only=self.post_only,
            self_trade_prevention=self.self_trade_prevention,
            client_id=self.client_id,
            trigger_price=self.trigger_price,
        )


def _refuse_unsupported(payload: dict) -> None:
    for name in UNSUPPORTED_FLAGS:
        value = payload.get(name)
        if value is not None and not isinstance(value, bool):
            raise errors.wrong_type(name, "a boolean")
        if value:
            raise errors.invalid_order(f"{name} is not supported: spot markets without margin")
    for name in UNSUPPORTED_VALUES:
        if payload.get(name) is not None:
            raise errors.invalid_order(f"{name} is not supported on this exchange")


def validate_order(payload: object, rules_for=market_rules) -> ValidatedOrder:
    """Check one order request (a parsed JSON object) and convert it; raises ``ApiError``."""
    if not isinstance(payload, dict):
        raise errors.bad_request("An order must be a JSON object")
    extra = [k for k in payload if k not in ORDER_FIELDS]
    if extra:
        raise errors.unknown_fields(extra)
    if "symbol" not in payload or payload["symbol"] is None:
        raise errors.missing_field("symbol")
    rules = rules_for(payload["symbol"])

    side = _choice(payload, "side", SIDES)
    order_type = _choice(payload, "orderType", ORDER_TYPES)
    stp = _choice(payload, "selfTradePrevention", STP_MODES, default=REJECT_TAKER)
    client_id = parse_client_id(payload["clientId"]) if _present(payload, "clientId") else None
    post_only = payload.get("postOnly")
    if post_only is None:
        post_only = False
    elif not isinstance(post_only, bool):
        raise errors.wrong_type("postOnly", "a boolean")
    _refuse_unsupported(payload)
    trigger_price = _trigger(payload, rules)
    if _present(payload, "triggerQuantity"):
        if _present(payload, "quantity"):
            raise errors.invalid_order("Give either quantity or triggerQuantity, not both")
        payload = {**payload, "quantity": payload["triggerQuantity"]}  # what the trigger places

    if order_type == LIMIT:
        order = _limit(payload, rules, side, post_only)
    else:
        order = _market(payload, rules, side, post_only)
    return ValidatedOrder(
        rules=rules,
        side=side,
        order_type=order_type,
        self_trade_prevention=stp,
        client_id=client_id,
        post_only=post_only,
        trigger_price=trigger_price,
        **order,
    )


def _trigger(payload: dict, rules: MarketRules) -> int | None:
    """A trigger order's trigger price in ticks; None for an order placed at once."""
    if not _present(payload, "triggerPrice"):
        if _present(payload, "triggerQuantity") or _present(payload, "triggerBy"):
            raise errors.invalid_order(
                "triggerQuantity and triggerBy are for trigger orders: give triggerPrice"
            )
        return None
    trigger_by = payload.get("triggerBy")
    if trigger_by is not None and trigger_by != TRIGGER_BY:
        raise errors.invalid_order(f"triggerBy: only {TRIGGER_BY} (the last trade price) on this exchange")
    value = parse_positive_decimal(payload["triggerPrice"], "triggerPrice", errors.INVALID_PRICE)
    ticks = on_grid(value, rules.tick_size, "triggerPrice", errors.INVALID_PRICE)
    if not rules.min_price <= value <= rules.max_price:
        raise errors.invalid_price(
            f"Invalid triggerPrice: must be between {_plain(rules.min_price)} and {_plain(rules.max_price)}"
        )
    return ticks


def _on_grid_within(
    payload: dict, field: str, step: Decimal, minimum: Decimal, maximum: Decimal, code: str
) -> tuple[Decimal, int]:
    """``payload[field]``, a positive decimal on the market's grid and within its limits, and
    how many steps it is; anything else is an ``ApiError(code)``."""
    value = parse_positive_decimal(payload[field], field, code)
    steps = on_grid(value, step, field, code)
    if value < minimum:
        raise ApiError(code, f"Invalid {field}: below the minimum {_plain(minimum)}")
    if value > maximum:
        raise ApiError(code, f"Invalid {field}: above the maximum {_plain(maximum)}")
    return value, steps


def _quantity(payload: dict, rules: MarketRules) -> tuple[Decimal, int]:
    return _on_grid_within(
        payload, "quantity", rules.step_size, rules.min_quantity, rules.max_quantity, errors.INVALID_QUANTITY
    )


def _limit(payload: dict, rules: MarketRules, side: str, post_only: bool) -> dict:
    if _present(payload, "quoteQuantity"):
        raise errors.invalid_order("quoteQuantity is only for market buy orders")
    if not _present(payload, "price"):
        raise errors.missing_field("price")
    if not _present(payload, "quantity"):
        raise errors.missing_field("quantity")
    tif = _choice(payload, "timeInForce", TIMES_IN_FORCE, default=GTC)
    if post_only and tif != GTC:
        raise errors.invalid_order("A post-only order must be GTC")

    price, ticks = _on_grid_within(
        payload, "price", rules.tick_size, rules.min_price, rules.max_price, errors.INVALID_PRICE
    )
    quantity, lots = _quantity(payload, rules)
    if Fraction(price) * Fraction(quantity) < Fraction(rules.min_notional):
        raise errors.invalid_order(
            f"Order value below the minimum notional {_plain(rules.min_notional)} {rules.format.quote}"
        )
    return {"quantity": lots, "price": ticks, "quote_quantity": None, "time_in_force": tif}


def _market(payload: dict, rules: MarketRules, side: str, post_only: bool) -> dict:
    if _present(payload, "price"):
        raise errors.invalid_order("A market order takes no price")
    if _present(payload, "timeInForce"):
        raise errors.invalid_order("A market order takes no timeInForce (it is always immediate-or-cancel)")
    if post_only:
        raise errors.invalid_order("A market order cannot be post-only")
    has_quantity, has_quote = _present(payload, "quantity"), _present(payload, "quoteQuantity")
    if has_quantity and has_quote:
        raise errors.invalid_order("Give either quantity or quoteQuantity, not both")
    if has_quote:
        if side != BID:
            raise errors.invalid_order("quoteQuantity is only for market buy orders")
        budget = parse_positive_decimal(payload["quoteQuantity"], "quoteQuantity", errors.INVALID_QUANTITY)
        units = on_grid(
            budget, Decimal(1).scaleb(-rules.format.quote_decimals), "quoteQuantity", errors.INVALID_QUANTITY
        )
        return {"quantity": None, "price": None, "quote_quantity": units, "time_in_force": GTC}
    if not has_quantity:
        raise errors.missing_field("quantity")
    _, lots = _quantity(payload, rules)
    return {"quantity": lots, "price": None, "quote_quantity": None, "time_in_force": GTC}
