"""The rolling 24 h ticker kept by the engine process."""

from engine.ticker import MINUTE_MS, WINDOW_MS, RollingTicker

T0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS


def test_ticker_aggregates_trades_in_the_window():
    t = RollingTicker()
    t.add_trade(T0, 100, 2, 200)
    t.add_trade(T0 + 1000, 120, 1, 120)
    t.add_trade(T0 + 2 * MINUTE_MS, 90, 3, 270)
    assert t.stats(T0 + 3 * MINUTE_MS) == {
        "first": 100,
        "last": 90,
        "high": 120,
        "low": 90,
        "volume": 6,
        "quote_volume": 590,
        "trades": 3,
    }


def test_trades_older_than_24h_leave_the_window_but_last_price_stays():
    t = RollingTicker()
    t.add_trade(T0, 100, 2, 200)
    t.add_trade(T0 + 10 * MINUTE_MS, 110, 1, 110)
    stats = t.stats(T0 + WINDOW_MS + 5 * MINUTE_MS)
    assert stats == {
        "first": 110,
        "last": 110,
        "high": 110,
        "low": 110,
        "volume": 1,
        "quote_volume": 110,
        "trades": 1,
    }
    assert t.stats(T0 + 2 * WINDOW_MS)["volume"] == 0
    assert t.stats(T0 + 2 * WINDOW_MS)["last"] == 110


def test_market_that_never_traded_has_no_stats():
    assert RollingTicker().stats(T0) is None


def test_ticker_state_round_trips():
    t = RollingTicker()
    t.add_trade(T0, 100, 2, 200)
    copy = RollingTicker.from_state(t.to_state())
    assert copy.stats(T0) == t.stats(T0)


def test_reading_stats_does_not_change_the_ticker_state():
    t = RollingTicker()
    t.add_trade(T0, 100, 2, 200)
    before = t.to_state()
    t.stats(T0 + 3 * WINDOW_MS)
    assert t.to_state() == before
