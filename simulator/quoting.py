"""What the bots want, without I/O: the mid's random walk, a maker's ladder of quotes around it,
the difference between the orders a maker has and the ones it wants, and a taker's next order.

Prices are whole ticks and quantities whole lots (the market's ``tickSize`` and ``stepSize``), as
the engine counts them, and go on the wire as exact decimal strings (``MarketSpec``). Floats
only decide *where* to quote (the walk, sizes drawn at random); every price and quantity sent is
an integer number of ticks or lots.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from contract.wire import plain

BID, ASK = "Bid", "Ask"

# Where a demo market without trades or quotes starts: roughly its real-world price.
DEFAULT_PRICES = {"BTC": "65000", "ETH": "3200", "SOL": "150"}
FALLBACK_PRICE = "100"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """A market as the bots trade it: its filters in whole ticks and lots (``from_wire``)."""

    symbol: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_price: int  # ticks
    max_price: int
    min_lots: int
    max_lots: int
    state: str = "Open"

    @classmethod
    def from_wire(cls, m: dict) -> MarketSpec:
        """From a ``/api/v1/markets`` object."""
        price, quantity = m["filters"]["price"], m["filters"]["quantity"]
        tick, step = Decimal(price["tickSize"]), Decimal(quantity["stepSize"])
        max_price = price.get("maxPrice")
        max_quantity = quantity.get("maxQuantity")
        return cls(
            symbol=m["symbol"],
            base=m["baseSymbol"],
            quote=m["quoteSymbol"],
            tick=tick,
            step=step,
            min_price=max(1, int(Decimal(price.get("minPrice") or tick) / tick)),
            max_price=int(Decimal(max_price) / tick) if max_price else 10**15,
            min_lots=max(1, int(Decimal(quantity.get("minQuantity") or step) / step)),
            max_lots=int(Decimal(max_quantity) / step) if max_quantity else 10**15,
            state=m.get("orderBookState", "Open"),
        )

    def price_text(self, ticks: int) -> str:
        return plain(self.tick * ticks)

    def qty_text(self, lots: int) -> str:
        return plain(self.step * lots)

    def ticks(self, price: str | Decimal) -> int:
        """Whole ticks of a price on the wire (rounded to the nearest tick)."""
        return int((Decimal(price) / self.tick).to_integral_value())

    def lots(self, quantity: str | Decimal) -> int:
        return int((Decimal(quantity) / self.step).to_integral_value(rounding="ROUND_FLOOR"))

    def clamp_price(self, ticks: int) -> int:
        return min(max(ticks, self.min_price), self.max_price)

    def lots_for(self, notional: float, price_ticks: int) -> int:
        """About ``notional`` (quote) worth of base at ``price_ticks``, in lots within the filters."""
        per_lot = float(self.tick * price_ticks * self.step)
        lots = int(notional / per_lot) if per_lot > 0 else self.min_lots
        return min(max(lots, self.min_lots), self.max_lots)


def starting_mid(spec: MarketSpec, book_mid: Decimal | None, last_price: Decimal | None) -> float:
    """The mid (in ticks) a market's walk starts from: the book's mid, else the last trade, else a
    price typical of the base asset."""
    for price in (book_mid, last_price):
        if price is not None and price > 0:
            return float(spec.clamp_price(max(1, int(price / spec.tick))))
    default = Decimal(DEFAULT_PRICES.get(spec.base, FALLBACK_PRICE))
    return float(spec.clamp_price(max(1, int(default / spec.tick))))


class RandomWalk:
    """A geometric random walk of the mid, in ticks, pulled back gently towards where it started
    (so an exchange left running for days keeps demo prices near their start).

    ``volatility``: standard deviation of the log price per square root of a second (0.0003 is
    about 0.23 % a minute); ``half_life_s``: how long the pull takes to halve a deviation."""

    def __init__(
        self,
        mid: float,
        rng: random.Random,
        volatility: float = 0.0003,
        half_life_s: float = 3600.0,
        lowest: float = 1.0,
        highest: float = float("inf"),
    ):
        self.mid = mid
        self.anchor = math.log(mid)
        self.rng = rng
        self.volatility = volatility
        self.reversion = math.log(2) / half_life_s
        self.lowest, self.highest = lowest, highest

    def step(self, dt: float) -> float:
        x = math.log(self.mid)
        x += -self.reversion * (x - self.anchor) * dt + self.volatility * math.sqrt(dt) * self.rng.gauss(0, 1)
        self.mid = min(max(math.exp(x), self.lowest), self.highest)
        return self.mid

    def nudge(self, price: float, weight: float = 0.3) -> None:
        """Move part way towards a price the market traded at (others' trades move the mid)."""
        self.mid = min(max(self.mid + weight * (price - self.mid), self.lowest), self.highest)


@dataclass(frozen=True, slots=True)
class Quote:
    side: str
    price: int  # ticks
    lots: int


@dataclass(frozen=True, slots=True)
class OpenOrder:
    id: str
    side: str
    price: int  # ticks
    lots: int  # remaining


@dataclass(frozen=True, slots=True)
class LadderShape:
    levels: int = 10
    spread_bps: float = 6.0  # between the best bid and the best ask, at least
    gap_bps: float = 4.0  # between levels, at least one tick
    notional: float = 600.0  # quote value of the best level; deeper levels are larger
    first_level: int = 0  # levels of the grid skipped nearest the mid (a wider maker)


def ladder(spec: MarketSpec, mid: float, shape: LadderShape, rng: random.Random) -> list[Quote]:
    """Bids below and asks above ``mid`` on a grid of ``gap`` ticks. Prices snap to the grid, so a
    small move of the mid changes the best levels only, not every level (few cancels)."""
    gap = max(1, round(mid * shape.gap_bps / 10_000))
    half = max(1.0, mid * shape.spread_bps / 20_000)
    best_bid = math.floor((mid - half) / gap) * gap
    best_ask = math.ceil((mid + half) / gap) * gap
    if best_ask <= best_bid:
        best_ask = best_bid + gap
    quotes = []
    for i in range(shape.first_level, shape.first_level + shape.levels):
        depth = 1 + 0.35 * i
        for side, price in ((BID, best_bid - i * gap), (ASK, best_ask + i * gap)):
            if not spec.min_price <= price <= spec.max_price:
                continue
            notional = shape.notional * depth * rng.uniform(0.6, 1.4)
            quotes.append(Quote(side, price, spec.lots_for(notional, price)))
    return quotes


def plan(current: list[OpenOrder], wanted: list[Quote]) -> tuple[list[str], list[Quote]]:
    """(ids to cancel, quotes to place): an order at a wanted (side, price) stays whatever its
    size, so a quiet market does not churn; everything else goes, and missing levels come."""
    wanted_at = {(q.side, q.price): q for q in wanted}
    kept: set[tuple[str, int]] = set()
    cancel = []
    for order in current:
        key = (order.side, order.price)
        if key in wanted_at and key not in kept:
            kept.add(key)
        else:
            cancel.append(order.id)
    place = [q for key, q in wanted_at.items() if key not in kept]
    return cancel, place


@dataclass(frozen=True, slots=True)
class Take:
    side: str
    lots: int


def next_take(
    spec: MarketSpec, mid: float, drift: float, rng: random.Random, notional: float = 400.0
) -> Take:
    """A taker's market order: the side leans with the recent drift of the mid (momentum), the
    size is mostly small with now and then a larger sweep."""
    p_buy = min(0.8, max(0.2, 0.5 + drift * 200))
    side = BID if rng.random() < p_buy else ASK
    size = notional * rng.lognormvariate(0, 0.6) * (4 if rng.random() < 0.08 else 1)
    return Take(side, spec.lots_for(size, max(1, round(mid))))


def next_delay(rng: random.Random, mean_s: float) -> float:
    """Seconds until the next event of a Poisson process of the given mean spacing."""
    return rng.expovariate(1.0 / mean_s) if mean_s > 0 else 0.0
