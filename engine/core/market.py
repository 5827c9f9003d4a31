"""A market's definition: its assets, grid, limits, fees and state, plus the integer unit factors
the core computes with."""

from __future__ import annotations

import dataclasses

from . import units
from .messages import MARKET_STATES, AddMarket, UpdateMarket

__all__ = ["Market", "MarketError", "MAX_FEE_BPS"]

MAX_FEE_BPS = 10000  # 100 %: a fee can never exceed the notional it is charged on


class MarketError(ValueError):
    """An invalid market definition (the engine answers ``INVALID_MARKET``)."""


def _is_int(v: object) -> bool:
    return type(v) is int


# A market's definition, as ``AddMarket`` gives it and ``MarketChanged`` carries it (minus seq/ts).
DEFINITION: tuple[str, ...] = (
    "symbol",
    "base",
    "quote",
    "tick_size",
    "step_size",
    "min_price",
    "max_price",
    "min_quantity",
    "max_quantity",
    "min_notional",
    "maker_fee_bps",
    "taker_fee_bps",
    "state",
)
# Every attribute of a ``Market``, in a fixed order (``to_tuple``, snapshots).
FIELDS: tuple[str, ...] = (*DEFINITION, "base_per_lot", "quote_per_tick_lot")

# What ``UpdateMarket`` can change.
UPDATABLE: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(UpdateMarket) if f.name not in ("ts", "symbol")
)


class Market:
    __slots__ = FIELDS

    def __init__(
        self,
        *,
        symbol: str,
        base: str,
        quote: str,
        tick_size: str,
        step_size: str,
        min_price: int,
        max_price: int,
        min_quantity: int,
        max_quantity: int,
        min_notional: int,
        maker_fee_bps: int,
        taker_fee_bps: int,
        state: str,
        base_per_lot: int,
        quote_per_tick_lot: int,
    ) -> None:
        self.symbol = symbol
        self.base = base
        self.quote = quote
        self.tick_size = tick_size
        self.step_size = step_size
        self.min_price = min_price
        self.max_price = max_price
        self.min_quantity = min_quantity
        self.max_quantity = max_quantity
        self.min_notional = min_notional
        self.maker_fee_bps = maker_fee_bps
        self.taker_fee_bps = taker_fee_bps
        self.state = state
        self.base_per_lot = base_per_lot
        self.quote_per_tick_lot = quote_per_tick_lot

    # -- construction / validation --------------------------------------------------------

    @classmethod
    def from_command(cls, cmd: AddMarket, assets: dict[str, int]) -> Market:
        """Validates an ``AddMarket`` against the known assets; raises ``MarketError``."""
        sym = cmd.symbol
        if not isinstance(sym, str) or not sym:
            raise MarketError("market symbol must be a non-empty string")
        if not isinstance(cmd.base, str) or cmd.base not in assets:
            raise MarketError(f"unknown base asset {cmd.base!r}")
        if not isinstance(cmd.quote, str) or cmd.quote not in assets:
            raise MarketError(f"unknown quote asset {cmd.quote!r}")
        if cmd.base == cmd.quote:
            raise MarketError("base and quote must differ")
        if not isinstance(cmd.tick_size, str) or not isinstance(cmd.step_size, str):
            raise MarketError("tick_size and step_size must be decimal strings")
        try:
            bpl = units.base_per_lot(cmd.step_size, assets[cmd.base])
            qptl = units.quote_per_tick_lot(cmd.tick_size, cmd.step_size, assets[cmd.quote])
        except ValueError as e:
            raise MarketError(f"invalid tick/step size: {e}") from None
        m = cls(
            **{name: getattr(cmd, name) for name in DEFINITION}, base_per_lot=bpl, quote_per_tick_lot=qptl
        )
        m.validate()
        return m

    def updated(self, cmd: UpdateMarket) -> Market:
        """A validated copy with ``cmd``'s non-``None`` fields applied; raises ``MarketError``."""
        m = self.copy()
        for name in UPDATABLE:
            v = getattr(cmd, name)
            if v is not None:
                setattr(m, name, v)
        m.validate()
        return m

    def validate(self) -> None:
        for name in ("min_price", "max_price", "min_quantity", "max_quantity", "min_notional"):
            if not _is_int(getattr(self, name)):
                raise MarketError(f"{name} must be an integer")
        if not 0 < self.min_price <= self.max_price:
            raise MarketError("need 0 < min_price <= max_price (ticks)")
        if not 0 < self.min_quantity <= self.max_quantity:
            raise MarketError("need 0 < min_quantity <= max_quantity (lots)")
        if self.min_notional < 0:
            raise MarketError("min_notional must be >= 0")
        if max(self.max_price, self.max_quantity, self.min_notional) > units.MAX_AMOUNT:
            raise MarketError(f"max_price, max_quantity and min_notional must be at most {units.MAX_AMOUNT}")
        for name in ("maker_fee_bps", "taker_fee_bps"):
            v = getattr(self, name)
            if not _is_int(v) or not 0 <= v <= MAX_FEE_BPS:
                raise MarketError(f"{name} must be an integer in [0, {MAX_FEE_BPS}]")
        if self.state not in MARKET_STATES:
            raise MarketError(f"state must be one of {', '.join(MARKET_STATES)}")
        # Intern the state so the engine can compare it by identity.
        self.state = MARKET_STATES[MARKET_STATES.index(self.state)]

    # -- helpers ------------------------------------------------------------------------------

    def copy(self) -> Market:
        return Market(**{name: getattr(self, name) for name in FIELDS})

    def definition(self) -> dict:
        """The fields of ``MarketChanged`` (minus seq/ts)."""
        return {name: getattr(self, name) for name in DEFINITION}

    def to_tuple(self) -> tuple:
        return tuple(getattr(self, name) for name in FIELDS)

    @classmethod
    def from_tuple(cls, t: tuple) -> Market:
        if len(t) != len(FIELDS):
            raise ValueError("bad market record")
        return cls(**dict(zip(FIELDS, t, strict=True)))

    def notional(self, price: int, quantity: int) -> int:
        return price * quantity * self.quote_per_tick_lot

    def __repr__(self) -> str:
        return f"Market({self.symbol}, state={self.state})"
