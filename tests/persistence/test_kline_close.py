"""The worker's side of closing candles: the ``persistence.close_candles`` task publishes a
candle's final frame (``X: true``) with the candle's stored values once the database holds all
the trades the engine put in it — and, end to end, a subscriber receives that frame from the
real engine and worker processes once the minute is over."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection

from engine.client import COMMAND_STREAM, encode, submit
from engine.core.messages import CancelOrder, PlaceOrder
from history import persistence, tasks

from .conftest import wait_until
from .factory import Events

T0 = 1_754_517_600_000  # 2025-08-06 22:00:00 UTC
M = 60_000
CHANNEL = "kline.1m.SOL_USDC"


def trade_events(traders, *specs: tuple[int, int, int, int]) -> list[dict]:
    """Trade events of SOL_USDC from (trade id, ms offset from T0, price ticks, lots)."""
    e = Events(first_seq=100)
    return [
        e.trade(trade_id, T0 + dt, price, qty, buyer=traders.buyer, seller=traders.seller)
        for trade_id, dt, price, qty in specs
    ]


def close_of(first: int | None, last: int, open_time: int = T0) -> dict:
    """The engine's message for the 1m candle of SOL_USDC opening at ``open_time``."""
    return {
        "symbol": "SOL_USDC",
        "interval": "1m",
        "open_time": open_time,
        "first_trade_id": first,
        "last_trade_id": last,
    }


def final_frames(pubsub, open_time: str, timeout: float) -> dict:
    """The first ``X: true`` frame for the candle opening at ``open_time`` on a subscription.
    Pub/sub ignores the Redis db number, so frames of other test runs are passed over."""
    seen: list[dict] = []

    def arrived():
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message:
            data = json.loads(message["data"])
            seen.append(data)
            if data["X"] and data["t"] == open_time:
                return data
        return None

    try:
        return wait_until(arrived, timeout, f"a final frame for {open_time}", pause=0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; frames seen: {seen}") from None


# --- which closed candles are ready, and their frames ----------------------------------------------


def test_a_closed_candle_holding_its_trades_gives_a_final_frame_with_its_stored_values(sol_usdc, traders):
    persistence.persist_events(trade_events(traders, (1, 1_000, 14_055, 150), (2, 2_000, 14_010, 5)))

    frames, pending = persistence.closed_kline_frames([close_of(1, 2)], now_ms=T0 + M + 300)

    assert pending == []
    assert frames == [
        {"stream": CHANNEL, "data": {
            "e": "kline", "E": (T0 + M + 300) * 1000, "s": "SOL_USDC", "t": "2025-08-06T22:00:00",
            "T": "2025-08-06T22:01:00", "o": "140.55", "h": "140.55", "l": "140.1", "c": "140.1", "v": "1.55",
            "n": 2, "X": True,
        }}
    ]  # fmt: skip


def test_the_final_frame_says_closed_even_if_the_workers_clock_is_before_the_end(sol_usdc, traders):
    persistence.persist_events(trade_events(traders, (1, 1_000, 14_000, 1)))

    frames, _ = persistence.closed_kline_frames([close_of(1, 1)], now_ms=T0 + M - 5)

    assert frames[0]["data"]["X"] is True


def test_a_candle_whose_last_trade_is_not_written_yet_is_pending(sol_usdc, traders):
    first, second = trade_events(traders, (1, 1_000, 14_000, 1), (2, 2_000, 14_100, 1))
    persistence.persist_events([first])

    frames, pending = persistence.closed_kline_frames([close_of(1, 2)])

    assert (frames, pending) == ([], [close_of(1, 2)])


def test_a_candle_whose_earlier_trades_are_not_written_yet_is_pending(sol_usdc, traders):
    first, second = trade_events(traders, (1, 1_000, 14_000, 1), (2, 2_000, 14_100, 1))
    persistence.persist_events([second])  # a later batch written before an earlier one

    frames, pending = persistence.closed_kline_frames([close_of(1, 2)])

    assert (frames, pending) == ([], [close_of(1, 2)])


def test_a_candle_with_no_row_yet_is_pending(sol_usdc):
    frames, pending = persistence.closed_kline_frames([close_of(1, 1)])

    assert (frames, pending) == ([], [close_of(1, 1)])


def test_without_a_first_trade_id_the_last_trade_alone_makes_a_candle_ready(sol_usdc, traders):
    persistence.persist_events(trade_events(traders, (5, 1_000, 14_000, 1), (6, 2_000, 14_100, 1)))

    frames, pending = persistence.closed_kline_frames([close_of(None, 6)])

    assert pending == []
    assert [(f["data"]["n"], f["data"]["c"]) for f in frames] == [(2, "141")]


def test_only_the_ready_candles_of_a_close_message_get_frames(sol_usdc, traders):
    persistence.persist_events(trade_events(traders, (1, 1_000, 14_000, 1), (2, M + 1_000, 14_200, 1)))

    frames, pending = persistence.closed_kline_frames([close_of(1, 1), close_of(2, 3, open_time=T0 + M)])

    assert [f["data"]["t"] for f in frames] == ["2025-08-06T22:00:00"]
    assert pending == [close_of(2, 3, open_time=T0 + M)]


# --- the task ------------------------------------------------------------------------------------


def test_the_close_task_publishes_the_final_frame_on_pub_sub(sol_usdc, traders, redis_conn):
    persistence.persist_events(trade_events(traders, (1, 1_000, 14_055, 150)))
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(CHANNEL)

    result = tasks.close_candles.apply(args=[[close_of(1, 1)]])

    data = final_frames(pubsub, "2025-08-06T22:00:00", 5)
    pubsub.close()
    assert result.get() == {"published": 1, "given_up": 0}
    assert {k: v for k, v in data.items() if k != "E"} == {
        "e": "kline", "s": "SOL_USDC", "t": "2025-08-06T22:00:00", "T": "2025-08-06T22:01:00",
        "o": "140.55", "h": "140.55", "l": "140.55", "c": "140.55", "v": "1.5", "n": 1, "X": True,
    }  # fmt: skip


def test_on_its_last_attempt_the_close_task_gives_up_a_candle_whose_trades_never_came(sol_usdc, traders):
    persistence.persist_events(trade_events(traders, (1, 1_000, 14_000, 1)))

    result = tasks.close_candles.apply(args=[[close_of(1, 2)]], retries=tasks.CLOSE_MAX_RETRIES)

    assert result.get() == {"published": 0, "given_up": 1}


# --- with real worker processes -------------------------------------------------------------------

needs_server_db = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="worker subprocesses share the test database on a server"
)


@needs_server_db
def test_a_worker_waits_for_the_candles_last_trade_before_publishing_its_final_frame(
    celery_worker_proc, sol_usdc, traders, redis_conn
):
    from exchange_site.celery import app

    first, second = trade_events(traders, (1, 1_000, 14_000, 2), (2, 2_000, 14_300, 1))
    persistence.persist_events([first])
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(CHANNEL)
    celery_worker_proc.start()

    app.send_task("persistence.close_candles", args=[[close_of(1, 2)]], queue=celery_worker_proc.queue)
    wait_until(lambda: "Retry in 0.2s" in celery_worker_proc.log(), 10, "a retry", celery_worker_proc.log)
    persistence.persist_events([second])

    data = final_frames(pubsub, "2025-08-06T22:00:00", 10)
    pubsub.close()
    assert {k: data[k] for k in "ohlcvnX"} == {
        "o": "140", "h": "143", "l": "140", "c": "143", "v": "0.03", "n": 2, "X": True
    }  # fmt: skip


@needs_server_db
def test_a_subscriber_receives_the_final_frame_of_a_minute_once_it_is_over(
    engine_worker, demo_markets, make_funded_user, redis_conn
):
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(CHANNEL)
    seller, buyer = make_funded_user("seller", SOL="10"), make_funded_user("buyer", USDC="10000")
    submit(PlaceOrder(ts=0, account=seller.pk, market="SOL_USDC", side="Ask", order_type="Limit",
                      quantity=150, price=14_055))  # fmt: skip
    bid = submit(PlaceOrder(ts=0, account=buyer.pk, market="SOL_USDC", side="Bid", order_type="Limit",
                            quantity=150, price=14_100))  # fmt: skip
    trade_ts = next(e for e in bid if e["type"] == "Trade")["ts"]
    start_ms = trade_ts - trade_ts % M
    # The minute is over for the engine once it applies a command stamped at its end or later
    # (stream ids only grow): append one with that id instead of waiting for the clock.
    unknown_order = CancelOrder(ts=0, account=buyer.pk, market="SOL_USDC", order_id=999_999)
    redis_conn.xadd(COMMAND_STREAM, encode(unknown_order, None), id=f"{start_ms + M}-0")

    data = final_frames(pubsub, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_ms // 1000)), 20)
    pubsub.close()
    assert {k: v for k, v in data.items() if k != "E"} == {
        "e": "kline", "s": "SOL_USDC",
        "t": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_ms // 1000)),
        "T": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_ms // 1000 + 60)),
        "o": "140.55", "h": "140.55", "l": "140.55", "c": "140.55", "v": "1.5", "n": 1, "X": True,
    }  # fmt: skip
