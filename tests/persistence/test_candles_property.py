"""Property: however trades are delivered — shuffled, duplicated, split across batches — the
candles equal a straightforward recomputation from the trades table, for every interval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from history import candles, persistence
from history.models import Candle, Trade

from .conftest import make_market
from .factory import Events

START = int(datetime(2024, 12, 20, tzinfo=UTC).timestamp() * 1000)
EPOCH = date(1970, 1, 1)
FIXED_SECONDS = {
    "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14400,
    "6h": 21600, "8h": 28800, "12h": 43200,
}  # fmt: skip


def reference_bucket(name: str, ts_ms: int) -> int:
    """The bucket rule written out with the calendar, independently of ``history.candles``."""
    dt = datetime.fromtimestamp(ts_ms // 1000, UTC)
    if name in FIXED_SECONDS:
        seconds = ts_ms // 1000
        return seconds - seconds % FIXED_SECONDS[name]
    day = dt.date()
    if name == "1d":
        first = day
    elif name == "3d":
        first = EPOCH + timedelta(days=(day - EPOCH).days // 3 * 3)
    elif name == "1w":
        first = day - timedelta(days=day.weekday())  # Monday
    else:  # 1month
        first = day.replace(day=1)
    return int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp())


def recomputed_from_trades() -> dict:
    """Every candle, recomputed the obvious way from what the trades table holds."""
    out: dict = {}
    trades = Trade.objects.order_by("market_id", "trade_id").values_list(
        "market_id", "trade_id", "ts", "price", "quantity", "quote_quantity"
    )
    for market_id, trade_id, ts, price, qty, quote in trades:
        for name in candles.INTERVAL_NAMES:
            key = (market_id, name, reference_bucket(name, ts) * 1000)
            c = out.get(key)
            if c is None:
                out[key] = [price, price, price, price, qty, quote, 1, trade_id, trade_id]
            else:  # trades come in trade id order: this one is the newest so far
                c[1], c[2], c[3] = max(c[1], price), min(c[2], price), price
                c[4] += qty
                c[5] += quote
                c[6] += 1
                c[8] = trade_id
    return {k: tuple(v) for k, v in out.items()}


def stored_candles() -> dict:
    rows = Candle.objects.values_list(
        "market_id", "interval", "open_time", "open", "high", "low", "close", "volume", "quote_volume",
        "trades", "first_trade_id", "last_trade_id",
    )  # fmt: skip
    return {tuple(r[:3]): tuple(r[3:]) for r in rows}


GAPS_MS = st.one_of(
    st.sampled_from([0, 1, 59_999, 60_000, 3_600_000, 86_400_000, 3 * 86_400_000]),
    st.integers(min_value=0, max_value=12 * 86_400_000),
)


@st.composite
def deliveries(draw):
    """(trades as (market index, gap ms, price, lots), delivery order with duplicates, batch cuts)."""
    trades = draw(
        st.lists(
            st.tuples(
                st.integers(0, 1), GAPS_MS, st.integers(min_value=1, max_value=50_000), st.integers(1, 10**6)
            ),
            min_size=1,
            max_size=40,
        )
    )
    n = len(trades)
    duplicates = draw(st.lists(st.integers(0, n - 1), max_size=n))
    order = draw(st.permutations(list(range(n)) + duplicates))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=6)))
    return trades, order, cuts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_candles_equal_a_recomputation_from_trades_for_any_delivery(sol_usdc, traders, case):
    trades, order, cuts = case
    Trade.objects.all().delete()
    Candle.objects.all().delete()
    symbols = ["SOL_USDC", "BTC_USDC"]
    if not _exists("BTC_USDC"):
        make_market("BTC_USDC")

    e = Events()
    events, ts, next_id = [], START, [1, 1]
    for market, gap, price, qty in trades:
        ts += gap
        events.append(
            e.trade(
                next_id[market],
                ts,
                price,
                qty,
                market=symbols[market],
                buyer=traders.buyer,
                seller=traders.seller,
            )
        )
        next_id[market] += 1
    delivered = [events[i] for i in order]
    bounds = [0, *cuts, len(delivered)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if lo < hi:
            persistence.persist_events(delivered[lo:hi])

    assert Trade.objects.count() == len(trades)
    assert stored_candles() == recomputed_from_trades()


def _exists(symbol: str) -> bool:
    from markets.models import Market

    return Market.objects.filter(symbol=symbol).exists()
