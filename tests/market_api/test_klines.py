"""/api/v1/klines: candles from the database, half-open by open time, every contract interval."""

from __future__ import annotations

import pytest

from history.models import Candle

pytestmark = pytest.mark.django_db

T0_S = 1752930540  # 2025-07-19 13:09:00 UTC
INTERVALS = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1month"]


def store_minutes(market, count: int, start_s: int = T0_S) -> None:
    """``count`` consecutive 1m candles from ``start_s``; candle ``i`` opens at 14000 + i ticks."""
    Candle.objects.bulk_create(
        Candle(
            market=market,
            interval="1m",
            open_time=(start_s + 60 * i) * 1000,
            open=14000 + i,
            high=14010 + i,
            low=13990 + i,
            close=14005 + i,
            volume=250,
            quote_volume=350_000_000,
            trades=3,
            first_trade_id=3 * i + 1,
            last_trade_id=3 * i + 3,
        )
        for i in range(count)
    )


def klines(client, **params):
    return client.get("/api/v1/klines", {"symbol": "SOL_USDC", "interval": "1m", **params})


def test_klines_render_candles_as_the_wire_kline(client, sol_usdc):
    store_minutes(sol_usdc, 1)

    response = klines(client, startTime=str(T0_S))

    assert response.status_code == 200
    assert response.json() == [
        {"start": "2025-07-19 13:09:00", "end": "2025-07-19 13:10:00", "open": "140", "high": "140.1",
         "low": "139.9", "close": "140.05", "volume": "2.5", "quoteVolume": "350", "trades": "3"}
    ]  # fmt: skip


def test_klines_are_ascending_by_start(client, sol_usdc):
    store_minutes(sol_usdc, 3)

    starts = [k["start"] for k in klines(client, startTime=str(T0_S)).json()]

    assert starts == ["2025-07-19 13:09:00", "2025-07-19 13:10:00", "2025-07-19 13:11:00"]


def test_klines_include_the_bucket_opening_at_start_time_and_exclude_the_one_opening_at_end_time(
    client, sol_usdc
):
    store_minutes(sol_usdc, 5)

    body = klines(client, startTime=str(T0_S + 60), endTime=str(T0_S + 180)).json()

    assert [k["start"] for k in body] == ["2025-07-19 13:10:00", "2025-07-19 13:11:00"]


def test_klines_start_inside_a_bucket_skips_that_bucket(client, sol_usdc):
    store_minutes(sol_usdc, 2)

    body = klines(client, startTime=str(T0_S + 1)).json()

    assert [k["start"] for k in body] == ["2025-07-19 13:10:00"]


def test_klines_equal_start_and_end_are_an_empty_range(client, sol_usdc):
    store_minutes(sol_usdc, 2)

    assert klines(client, startTime=str(T0_S), endTime=str(T0_S)).json() == []


def test_klines_only_return_the_requested_interval(client, sol_usdc):
    store_minutes(sol_usdc, 1)

    assert klines(client, interval="1h", startTime=str(T0_S - 3600)).json() == []


@pytest.mark.parametrize("interval", INTERVALS)
def test_klines_accept_every_interval_of_the_contract(client, sol_usdc, interval):
    response = klines(client, interval=interval, startTime=str(T0_S))

    assert (response.status_code, response.json()) == (200, [])


def test_klines_return_at_most_5000_candles_the_earliest(client, sol_usdc):
    store_minutes(sol_usdc, 5001)

    body = klines(client, startTime=str(T0_S)).json()

    assert (len(body), body[-1]["start"]) == (5000, "2025-07-23 00:28:00")


def test_klines_of_a_day_of_minutes_take_two_queries(client, sol_usdc, django_assert_num_queries):
    store_minutes(sol_usdc, 1440)

    with django_assert_num_queries(2):  # the market with its assets, the candles
        response = klines(client, startTime=str(T0_S), endTime=str(T0_S + 86400))

    assert len(response.json()) == 1440


def test_klines_are_not_cacheable(client, sol_usdc):
    assert klines(client, startTime=str(T0_S)).headers["Cache-Control"] == "no-store"


# --- errors -------------------------------------------------------------------------------


def test_klines_without_start_time_are_invalid_client_request(client, sol_usdc):
    response = klines(client)

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_CLIENT_REQUEST",
        "message": "Missing required parameter: startTime",
    }


def test_klines_without_interval_are_invalid_client_request(client, sol_usdc):
    response = client.get("/api/v1/klines", {"symbol": "SOL_USDC", "startTime": str(T0_S)})

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_CLIENT_REQUEST",
        "message": "Missing required parameter: interval",
    }


def test_klines_of_an_interval_outside_the_contract_are_invalid_client_request(client, sol_usdc):
    response = klines(client, interval="2m", startTime=str(T0_S))

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_CLIENT_REQUEST",
        "message": "Invalid parameter interval: '2m' is not one of " + " ".join(INTERVALS),
    }


def test_klines_with_start_after_end_are_invalid_client_request(client, sol_usdc):
    response = klines(client, startTime=str(T0_S + 1), endTime=str(T0_S))

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_CLIENT_REQUEST",
        "message": f"Invalid parameter startTime: startTime {T0_S + 1} is after endTime {T0_S}",
    }


@pytest.mark.parametrize("name", ["startTime", "endTime"])
@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "1e9", "253402300800", "99999999999999999999999"])
def test_klines_with_a_non_numeric_or_out_of_range_time_are_invalid_client_request(
    client, sol_usdc, name, value
):
    params = {"startTime": str(T0_S), name: value}

    response = klines(client, **params)

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_klines_of_an_unknown_symbol_are_invalid_symbol(client, sol_usdc):
    response = client.get("/api/v1/klines", {"symbol": "NOPE_USDC", "interval": "1m", "startTime": str(T0_S)})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_klines_without_a_symbol_are_invalid_client_request(client, sol_usdc):
    response = client.get("/api/v1/klines", {"interval": "1m", "startTime": str(T0_S)})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_klines_take_one_query_once_the_market_is_known(client, sol_usdc, django_assert_num_queries):
    store_minutes(sol_usdc, 10)
    klines(client, startTime=str(T0_S))

    with django_assert_num_queries(1):
        klines(client, startTime=str(T0_S))
