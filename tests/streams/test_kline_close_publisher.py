"""The engine process's side of closing candles: which buckets are over (``CandleCloser``) and
how the publisher hands them to the ``persistence.close_candles`` task — after the trades they
hold, by command time while commands flow and by its clock only when idle. Times are injected:
trade times are the commands' ``ts``, the publisher's clock is a function of the test."""

from __future__ import annotations

import pytest
import pytest_asyncio
import redis.asyncio
from django.conf import settings

from contract.intervals import INTERVALS
from engine.publisher import CLOSE_GRACE_MS, CandleCloser, ClosedCandle, Publisher
from history.outbox import outbox
from tests.conftest import take_lease
from tests.engine_core.helpers import BUYER, SELLER, SYM, Harness
from tests.persistence.factory import Events

T0 = 1_754_517_600_000  # 2025-08-06 22:00:00 UTC: a 1m and 3m boundary
M = 60_000
ONE_AND_THREE_MINUTES = [INTERVALS["1m"], INTERVALS["3m"]]


def trades(*specs: tuple[int, int]) -> list[dict]:
    """Trade events of SOL_USDC from (trade id, ts), as the engine hands them to the publisher."""
    e = Events()
    return [e.trade(trade_id, ts, 14_000, 1) for trade_id, ts in specs]


def closer_that_saw_a_trade_before(ts: int) -> CandleCloser:
    """A closer whose market traded once, in the minute before ``ts`` (already handed out): the
    next bucket's first trade id is known."""
    closer = CandleCloser([INTERVALS["1m"]])
    closer.add_trades("SOL_USDC", trades((1, ts - M)))
    closer.due(ts)
    return closer


# --- CandleCloser ---------------------------------------------------------------------------------


def test_a_candle_is_not_due_before_its_end():
    closer = CandleCloser([INTERVALS["1m"]])
    closer.add_trades("SOL_USDC", trades((1, T0 + 1_000), (2, T0 + 2_000)))

    assert closer.due(T0 + M - 1) == []


def test_a_candle_is_due_at_its_end_with_its_first_and_last_trade_ids():
    closer = closer_that_saw_a_trade_before(T0)
    closer.add_trades("SOL_USDC", trades((2, T0 + 1_000), (3, T0 + 2_000)))

    assert closer.due(T0 + M) == [ClosedCandle("SOL_USDC", "1m", T0, T0 + M, 2, 3)]


def test_a_due_candle_is_handed_out_once():
    closer = CandleCloser([INTERVALS["1m"]])
    closer.add_trades("SOL_USDC", trades((1, T0 + 1_000)))
    closer.due(T0 + M)

    assert closer.due(T0 + 2 * M) == []


def test_the_first_bucket_after_the_engine_starts_has_no_first_trade_id():
    closer = CandleCloser([INTERVALS["1m"]])
    closer.add_trades("SOL_USDC", trades((7, T0 + 1_000)))

    assert closer.due(T0 + M) == [ClosedCandle("SOL_USDC", "1m", T0, T0 + M, None, 7)]


def test_a_bucket_over_several_flushes_keeps_its_first_trade_id():
    closer = closer_that_saw_a_trade_before(T0)
    closer.add_trades("SOL_USDC", trades((2, T0 + 1_000)))
    closer.add_trades("SOL_USDC", trades((3, T0 + 20_000), (4, T0 + 30_000)))
    closer.add_trades("SOL_USDC", trades((5, T0 + 59_999)))

    assert closer.due(T0 + M) == [ClosedCandle("SOL_USDC", "1m", T0, T0 + M, 2, 5)]


def test_a_longer_interval_stays_open_when_the_minute_closes():
    closer = CandleCloser(ONE_AND_THREE_MINUTES)
    closer.add_trades("SOL_USDC", trades((1, T0 + 1_000)))

    assert [(c.interval, c.open_time) for c in closer.due(T0 + M)] == [("1m", T0)]
    assert [(c.interval, c.open_time) for c in closer.due(T0 + 3 * M)] == [("3m", T0)]


def test_a_trade_in_a_later_bucket_closes_the_earlier_one_whatever_the_time():
    closer = closer_that_saw_a_trade_before(T0)
    closer.add_trades("SOL_USDC", trades((2, T0 + 1_000)))
    closer.add_trades("SOL_USDC", trades((3, T0 + M + 5)))

    assert closer.due(0) == [ClosedCandle("SOL_USDC", "1m", T0, T0 + M, 2, 2)]


def test_buckets_within_one_flush_close_each_with_their_own_trades():
    closer = CandleCloser(ONE_AND_THREE_MINUTES)
    closer.add_trades("SOL_USDC", trades((1, T0 - 1)))  # the market traded before T0
    closer.due(T0)

    closer.add_trades(
        "SOL_USDC",
        trades((2, T0 + 1_000), (3, T0 + 59_999), (4, T0 + M), (5, T0 + 3 * M + 1), (6, T0 + 3 * M + 2)),
    )

    assert closer.due(0) == [
        ClosedCandle("SOL_USDC", "1m", T0, T0 + M, 2, 3),
        ClosedCandle("SOL_USDC", "1m", T0 + M, T0 + 2 * M, 4, 4),
        ClosedCandle("SOL_USDC", "3m", T0, T0 + 3 * M, 2, 4),
    ]
    assert closer.due(T0 + 4 * M) == [ClosedCandle("SOL_USDC", "1m", T0 + 3 * M, T0 + 4 * M, 5, 6)]


def test_markets_close_independently():
    closer = CandleCloser([INTERVALS["1m"]])
    closer.add_trades("SOL_USDC", trades((1, T0 + 1_000)))
    closer.add_trades("BTC_USDC", trades((1, T0 + M + 1_000)))

    assert [(c.symbol, c.open_time) for c in closer.due(T0 + M)] == [("SOL_USDC", T0)]
    assert [(c.symbol, c.open_time) for c in closer.due(T0 + 2 * M)] == [("BTC_USDC", T0 + M)]


# --- the publisher hands closes over --------------------------------------------------------------


class Recorder:
    """What the publisher sends to Celery, in order: persistence batches (as their trade ids)
    and close messages."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list]] = []

    def persist(self, entry_id: str, batch: list[dict]) -> None:
        self.sent.append(("persist", [e["trade_id"] for e in batch if e["type"] == "Trade"]))

    def close(self, closes: list[dict]) -> None:
        self.sent.append(("close", closes))

    def closes(self) -> list[list[dict]]:
        return [item for kind, item in self.sent if kind == "close"]


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest_asyncio.fixture
async def publishing(redis_conn):
    """An engine core with market SOL_USD, its publisher (real Redis, no channel layer) sending
    to a ``Recorder``, and the publisher's clock."""
    conn = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    recorder, clock = Recorder(), Clock(T0)
    publisher = Publisher(
        h.e,
        conn,
        None,
        take_lease(),
        recorder.persist,
        {},
        recorder.close,
        clock,
        intervals=[INTERVALS["1m"]],
        outbox=outbox(),
    )
    yield h, publisher, recorder, clock
    await conn.aclose()


def trade_at(h: Harness, publisher: Publisher, ts: int) -> None:
    """A resting ask and a bid taking it, the bid's command stamped ``ts``: one trade at ``ts``."""
    h.ts = ts - 2
    publisher.collect(h.sell(SELLER, 100, 1), None)
    publisher.collect(h.buy(BUYER, 100, 1), None)


def command_at(h: Harness, publisher: Publisher, ts: int) -> None:
    """Any command (a deposit) stamped ``ts``."""
    h.ts = ts - 1
    publisher.collect(h.deposit(BUYER, "USD", 1), None)


def close_of(open_time: int, first: int | None, last: int) -> dict:
    return {
        "symbol": SYM,
        "interval": "1m",
        "open_time": open_time,
        "first_trade_id": first,
        "last_trade_id": last,
    }


@pytest.mark.asyncio
async def test_a_close_goes_after_the_trades_before_its_end_and_before_the_trades_after_it(publishing):
    h, publisher, recorder, _clock = publishing
    trade_at(h, publisher, T0 + 1_000)
    trade_at(h, publisher, T0 + 59_000)
    trade_at(h, publisher, T0 + M + 1_000)

    await publisher.flush(persist_now=True)

    assert recorder.sent == [("persist", [1, 2]), ("close", [close_of(T0, None, 2)]), ("persist", [3])]


@pytest.mark.asyncio
async def test_while_commands_flow_a_candle_closes_by_command_time_not_by_the_clock(publishing):
    h, publisher, recorder, clock = publishing
    clock.ms = T0 + 10 * M  # the engine's clock is far past the minute: a backlog is being applied
    trade_at(h, publisher, T0 + 1_000)
    await publisher.flush()
    command_at(h, publisher, T0 + M - 1)
    await publisher.flush()
    assert recorder.closes() == []

    command_at(h, publisher, T0 + M)
    await publisher.flush()

    assert recorder.closes() == [[close_of(T0, None, 1)]]


@pytest.mark.asyncio
async def test_a_close_is_handed_over_once(publishing):
    h, publisher, recorder, clock = publishing
    trade_at(h, publisher, T0 + 1_000)
    await publisher.flush()
    clock.ms = T0 + 5 * M

    await publisher.flush()
    await publisher.flush()

    assert len(recorder.closes()) == 1


@pytest.mark.asyncio
async def test_an_idle_engine_closes_a_candle_by_its_clock_after_the_grace(publishing):
    h, publisher, recorder, clock = publishing
    trade_at(h, publisher, T0 + 1_000)
    await publisher.flush()

    clock.ms = T0 + M + CLOSE_GRACE_MS - 1
    await publisher.flush()  # nothing was applied since the last flush: an idle tick
    assert recorder.closes() == []

    clock.ms = T0 + M + CLOSE_GRACE_MS
    await publisher.flush()

    assert recorder.closes() == [[close_of(T0, None, 1)]]
