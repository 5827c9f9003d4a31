"""Reading candles: the klines selector's wire shape and range, the websocket kline frames,
and ``rebuild_candles``."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from contract import wire
from history import candles, persistence
from history.models import Candle

from .conftest import make_market
from .factory import Events

T0 = 1_754_517_600_000  # 2025-08-06 22:00:00 UTC
S0 = T0 // 1000


def trades_at(traders, *specs, market="SOL_USDC", first_id=1, first_seq=1):
    """Trade events from (ms offset from T0, price ticks, lots)."""
    e = Events(first_seq)
    return [
        e.trade(first_id + i, T0 + dt, price, qty, market=market, buyer=traders.buyer, seller=traders.seller)
        for i, (dt, price, qty) in enumerate(specs)
    ]


def test_klines_render_candles_in_the_wire_shape(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (1_000, 14_055, 150), (2_000, 14_010, 5)))

    assert candles.klines(sol_usdc, "1m", S0) == [
        {
            "start": "2025-08-06 22:00:00",
            "end": "2025-08-06 22:01:00",
            "open": "140.55",
            "high": "140.55",
            "low": "140.1",
            "close": "140.1",
            "volume": "1.55",
            "quoteVolume": "217.83",
            "trades": "2",
        }
    ]


def test_klines_accept_a_symbol(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (0, 14_000, 1)))

    assert [k["start"] for k in candles.klines("SOL_USDC", "1month", S0)] == []
    assert [k["start"] for k in candles.klines("SOL_USDC", "1month", S0 - 6 * 86_400)] == [
        "2025-08-01 00:00:00"
    ]


def test_klines_omit_buckets_without_trades(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (0, 14_000, 1), (180_000, 14_100, 1)))

    assert [k["start"] for k in candles.klines(sol_usdc, "1m", S0)] == [
        "2025-08-06 22:00:00",
        "2025-08-06 22:03:00",
    ]


def test_klines_return_buckets_opening_from_start_up_to_but_excluding_end(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, *[(m * 60_000, 14_000, 1) for m in range(5)]))

    got = candles.klines(sol_usdc, "1m", S0 + 60, S0 + 180)

    assert [k["start"] for k in got] == ["2025-08-06 22:01:00", "2025-08-06 22:02:00"]


def test_klines_start_inside_a_bucket_leave_that_bucket_out(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (0, 14_000, 1), (60_000, 14_000, 1)))

    assert [k["start"] for k in candles.klines(sol_usdc, "1m", S0 + 30)] == ["2025-08-06 22:01:00"]


def test_klines_limit_keeps_the_earliest(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, *[(m * 60_000, 14_000, 1) for m in range(5)]))

    assert [k["start"] for k in candles.klines(sol_usdc, "1m", S0, limit=2)] == [
        "2025-08-06 22:00:00",
        "2025-08-06 22:01:00",
    ]


def test_klines_of_another_market_are_not_mixed_in(sol_usdc, traders):
    make_market("BTC_USDC")
    persistence.persist_events(
        trades_at(traders, (0, 14_000, 1)) + trades_at(traders, (0, 9, 9), market="BTC_USDC", first_seq=100)
    )

    assert [k["open"] for k in candles.klines(sol_usdc, "1d", S0 - 86_400)] == ["140"]


def test_klines_refuse_an_unknown_interval(sol_usdc):
    with pytest.raises(ValueError):
        candles.klines(sol_usdc, "1M", S0)


def test_kline_frames_carry_the_open_candles_in_the_stream_shape(sol_usdc, traders):
    result = persistence.persist_events(trades_at(traders, (1_000, 14_055, 150), (2_000, 14_010, 5)))

    frames = persistence.kline_frames(result, now_ms=T0 + 30_000)

    assert frames[0] == {"stream": "kline.1m.SOL_USDC", "data": {
        "e": "kline", "E": (T0 + 30_000) * 1000, "s": "SOL_USDC", "t": "2025-08-06T22:00:00",
        "T": "2025-08-06T22:01:00", "o": "140.55", "h": "140.55", "l": "140.1", "c": "140.1", "v": "1.55",
        "n": 2, "X": False,
    }}  # fmt: skip
    assert [f["stream"] for f in frames] == [f"kline.{name}.SOL_USDC" for name in candles.INTERVAL_NAMES]


def test_kline_frames_leave_out_closed_candles(sol_usdc, traders):
    result = persistence.persist_events(trades_at(traders, (1_000, 14_000, 1)))

    frames = persistence.kline_frames(result, now_ms=T0 + 60_000)

    assert "kline.1m.SOL_USDC" not in [f["stream"] for f in frames]
    assert "kline.3m.SOL_USDC" in [f["stream"] for f in frames]


def test_kline_frames_send_only_the_newest_bucket_per_interval(sol_usdc, traders):
    result = persistence.persist_events(trades_at(traders, (1_000, 14_000, 1), (61_000, 14_200, 1)))

    frames = [
        f for f in persistence.kline_frames(result, now_ms=T0 + 61_500) if f["stream"] == "kline.1m.SOL_USDC"
    ]

    assert [(f["data"]["t"], f["data"]["o"]) for f in frames] == [("2025-08-06T22:01:00", "142")]


def candle_table():
    return sorted(
        Candle.objects.values_list(
            "market_id", "interval", "open_time", "open", "high", "low", "close", "volume", "quote_volume",
            "trades", "first_trade_id", "last_trade_id",
        )
    )  # fmt: skip


def test_rebuild_candles_recomputes_deleted_and_corrupted_candles(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (0, 14_000, 3), (90_000, 13_000, 2), (200_000, 15_000, 1)))
    expected = candle_table()
    Candle.objects.filter(interval="1m").delete()
    Candle.objects.filter(interval="1h").update(high=1, trades=99)

    call_command("rebuild_candles", stdout=StringIO())

    assert candle_table() == expected


def test_rebuild_candles_drops_candles_that_have_no_trades(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (0, 14_000, 3)))
    Candle.objects.create(
        market=sol_usdc, interval="1m", open_time=T0 - 60_000, open=1, high=1, low=1, close=1, volume=1,
        quote_volume=1, trades=1, first_trade_id=0, last_trade_id=0,
    )  # fmt: skip

    call_command("rebuild_candles", "--market", "SOL_USDC", stdout=StringIO())

    assert Candle.objects.filter(interval="1m").count() == 1


def test_rebuild_candles_since_leaves_older_buckets_alone(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (0, 14_000, 3), (120_000, 13_000, 2)))
    Candle.objects.filter(interval="1m").update(trades=77)

    call_command("rebuild_candles", "--since", str(S0 + 150), stdout=StringIO())

    assert list(
        Candle.objects.filter(interval="1m").order_by("open_time").values_list("trades", flat=True)
    ) == [77, 1]


def test_rebuild_candles_accepts_an_iso_since(sol_usdc, traders):
    persistence.persist_events(trades_at(traders, (0, 14_000, 3), (120_000, 13_000, 2)))
    Candle.objects.filter(interval="1m").update(trades=77)

    call_command("rebuild_candles", "--since", "2025-08-06T22:02:00", stdout=StringIO())

    assert list(
        Candle.objects.filter(interval="1m").order_by("open_time").values_list("trades", flat=True)
    ) == [77, 1]


def test_rebuild_candles_of_one_market_leaves_the_others_alone(sol_usdc, traders):
    btc = make_market("BTC_USDC")
    persistence.persist_events(
        trades_at(traders, (0, 14_000, 1)) + trades_at(traders, (0, 9, 9), market="BTC_USDC", first_seq=100)
    )
    Candle.objects.filter(market=btc).update(trades=77)

    call_command("rebuild_candles", "--market", "SOL_USDC", stdout=StringIO())

    assert set(Candle.objects.filter(market=btc).values_list("trades", flat=True)) == {77}


def test_rebuild_candles_refuses_an_unknown_market(db):
    with pytest.raises(CommandError):
        call_command("rebuild_candles", "--market", "NOPE_USDC", stdout=StringIO())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL rebuild is PostgreSQL's")
def test_the_sql_rebuild_agrees_with_the_python_aggregation(sol_usdc, traders):
    # Spread over months, weeks and 3-day boundaries: the date_bin/date_trunc buckets must be
    # the Python ones.
    spans = [0, 59_999, 86_400_000 * 2, 86_400_000 * 5 + 1, 86_400_000 * 31, 86_400_000 * 70]
    persistence.persist_events(trades_at(traders, *[(dt, 14_000 + i, 1 + i) for i, dt in enumerate(spans)]))
    from_python = candle_table()
    Candle.objects.all().delete()

    candles.rebuild()

    assert candle_table() == from_python


# Stored amounts are 64-bit integers (19 digits), within Decimal's default 28-digit precision.
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=-30, max_value=6))
def test_shifted_renders_exactly_what_the_wire_renderer_does(units, exponent):
    assert candles.shifted(units, exponent) == wire.plain(Decimal(units).scaleb(exponent))


def test_klines_render_a_tick_that_is_not_a_power_of_ten(sol_usdc, traders):
    sol_usdc.tick_size = Decimal("0.05")
    sol_usdc.save()
    persistence.persist_events(trades_at(traders, (0, 2_811, 3)))

    got = candles.klines(sol_usdc, "1m", S0)

    assert (got[0]["open"], got[0]["volume"], got[0]["quoteVolume"]) == ("140.55", "0.03", "0.8433")
