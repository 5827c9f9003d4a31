"""Exact conversions between decimal strings and the engine's integers.

This is the only module of the core that touches ``Decimal``. Prices become integer *ticks* of
the market's ``tick_size``, quantities integer *lots* of its ``step_size``, asset amounts integer
*units* of ``10**-decimals``. Every conversion is exact: a value that is not on the grid raises
``ValueError`` instead of being rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction

__all__ = [
    "parse_decimal",
    "format_decimal",
    "places_of",
    "to_units",
    "from_units",
    "to_ticks",
    "from_ticks",
    "to_lots",
    "from_lots",
    "base_per_lot",
    "quote_per_tick_lot",
    "notional",
    "fee",
    "MAX_AMOUNT",
]

# Every integer the engine keeps (balances, prices in ticks, quantities in lots) fits in 64
# signed bits: the database stores them as BIGINT, and JSON readers (orjson, most non-Python
# ones) read larger integers as floats.
MAX_AMOUNT = 2**63 - 1

# Plain notation only: an optional sign, digits, an optional fraction. No exponent, no spaces,
# no NaN/Infinity, no thousands separators.
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_PREC = 2000  # enough digits for any exact product or quotient we form


def parse_decimal(value: str | int | Decimal) -> Decimal:
    """A finite ``Decimal`` from a plain-notation string, an int or a Decimal.

    Floats (and bools) are refused: they cannot carry an exact decimal value.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"not an exact decimal: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite decimal: {value!r}")
        return value
    if isinstance(value, str):
        if not _PLAIN.match(value):
            raise ValueError(f"not a plain decimal string: {value!r}")
        return Decimal(value)
    raise ValueError(f"not a decimal: {value!r}")


def places_of(step: str | Decimal) -> int:
    """Number of fractional digits of a grid step (``"0.010"`` -> 2, ``"5"`` -> 0)."""
    d = parse_decimal(step)
    if d <= 0:
        raise ValueError(f"step must be positive: {step!r}")
    with localcontext() as ctx:
        ctx.prec = _PREC
        exp = d.normalize().as_tuple().exponent
    return max(0, -int(exp))


def format_decimal(value: Decimal | int, places: int | None = None) -> str:
    """Plain notation (never an exponent). With ``places``, exactly that many fractional digits
    (raises ``ValueError`` if that would round); without, trailing zeros are stripped.

    The no-``places`` form is on the publisher's hot path (every price and quantity on the
    wire): ``format(d, "f")`` is exact whatever the context precision, so it strips zeros from
    the text instead of calling ``normalize()``, which would round to the context precision."""
    d = Decimal(value) if isinstance(value, int) else value
    if places is None:
        if not d:
            return "0"
        s = format(d, "f")
        return s.rstrip("0").rstrip(".") if "." in s else s
    with localcontext() as ctx:
        ctx.prec = _PREC
        q = d.quantize(Decimal(1).scaleb(-places))
        if q != d:
            raise ValueError(f"{d} has more than {places} decimal places")
        s = format(q, "f")
    if s.startswith("-") and q == 0:
        s = s[1:]
    return s


def _exact_quotient(value: Decimal, step: Decimal, what: str) -> int:
    fr = Fraction(value) / Fraction(step)
    if fr.denominator != 1:
        raise ValueError(f"{what} {format_decimal(value)} is not a multiple of {format_decimal(step)}")
    return int(fr)


def _product(n: int, step: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PREC
        return Decimal(n) * step


def to_units(amount: str | int | Decimal, decimals: int) -> int:
    """Asset amount -> integer units of ``10**-decimals`` (exact)."""
    return _exact_quotient(parse_decimal(amount), Decimal(1).scaleb(-decimals), "amount")


def from_units(units: int, decimals: int, places: int | None = None) -> str:
    return format_decimal(_product(units, Decimal(1).scaleb(-decimals)), places)


def _positive_step(step: str | Decimal, what: str) -> Decimal:
    d = parse_decimal(step)
    if d <= 0:
        raise ValueError(f"{what} must be positive: {step!r}")
    return d


def to_ticks(price: str | int | Decimal, tick_size: str | Decimal) -> int:
    """Price -> integer ticks (exact; off-grid raises ``ValueError``)."""
    return _exact_quotient(parse_decimal(price), _positive_step(tick_size, "tick size"), "price")


def from_ticks(ticks: int, tick_size: str | Decimal, places: int | None = None) -> str:
    return format_decimal(_product(ticks, _positive_step(tick_size, "tick size")), places)


def to_lots(quantity: str | int | Decimal, step_size: str | Decimal) -> int:
    """Quantity -> integer lots (exact; off-grid raises ``ValueError``)."""
    return _exact_quotient(parse_decimal(quantity), _positive_step(step_size, "step size"), "quantity")


def from_lots(lots: int, step_size: str | Decimal, places: int | None = None) -> str:
    return format_decimal(_product(lots, _positive_step(step_size, "step size")), places)


def _positive_integer(value: Fraction, what: str) -> int:
    if value.denominator != 1 or value <= 0:
        raise ValueError(f"{what} is not a positive integer ({value})")
    return int(value)


def base_per_lot(step_size: str | Decimal, base_decimals: int) -> int:
    """Base-asset units in one lot: ``step_size * 10**base_decimals`` (must be a positive integer)."""
    step = Fraction(_positive_step(step_size, "step size"))
    return _positive_integer(step * 10**base_decimals, "step_size * 10**base_decimals")


def quote_per_tick_lot(tick_size: str | Decimal, step_size: str | Decimal, quote_decimals: int) -> int:
    """Quote-asset units for one lot at a price of one tick:
    ``tick_size * step_size * 10**quote_decimals`` (must be a positive integer)."""
    tick = Fraction(_positive_step(tick_size, "tick size"))
    step = Fraction(_positive_step(step_size, "step size"))
    return _positive_integer(tick * step * 10**quote_decimals, "tick_size * step_size * 10**quote_decimals")


def notional(price: int, quantity: int, quote_per_tick_lot: int) -> int:
    """Quote units for ``quantity`` lots at ``price`` ticks."""
    return price * quantity * quote_per_tick_lot


def fee(amount: int, bps: int) -> int:
    """A fee of ``bps`` basis points on ``amount`` quote units, rounded DOWN (in the trader's favour)."""
    return amount * bps // 10000
