"""Streams fed by the real engine: ``manage.py run_engine`` as a subprocess publishes through the
real Redis channel layer to a consumer running in the test, exactly as in production.

SOL_USDC: tick 0.01 (price 14000 = 140.00), step 0.01 (quantity 100 = 1 SOL), maker 2 bps,
taker 5 bps.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import pytest
from asgiref.sync import sync_to_async

from engine.client import append, submit
from engine.core.messages import CancelAll, PlaceOrder
from tests.streams.conftest import subscribed
from tests.streams.depthbook import DepthBook, DepthGap

pytestmark = [pytest.mark.asyncio, pytest.mark.services]


async def place(user, side: str, price: int, quantity: int, market: str = "SOL_USDC") -> list[dict]:
    order = PlaceOrder(
        ts=0, account=user.pk, market=market, side=side, order_type="Limit", price=price, quantity=quantity
    )
    return await sync_to_async(submit)(order)


def _rest_depth(symbol: str) -> dict:
    from django.test import Client

    response = Client().get("/api/v1/depth", {"symbol": symbol, "limit": 1000})
    assert response.status_code == 200, response.content
    return response.json()


async def rest_depth(symbol: str = "SOL_USDC") -> dict:
    return await sync_to_async(_rest_depth)(symbol)


async def traders(make_funded_user, count: int) -> list:
    """``count`` users with 1,000,000 USDC and 10,000 SOL each."""
    make = sync_to_async(make_funded_user)
    return [await make(f"trader{i}", USDC="1000000", SOL="10000") for i in range(count)]


class Received:
    """Every frame one client gets, per stream, with the time it arrived: a reader task takes
    them off the connection as they come (so the times are true arrival times)."""

    def __init__(self, client):
        self.client = client
        self.frames: dict[str, list[dict]] = {}
        self.times: dict[str, list[float]] = {}
        self._arrived = asyncio.Event()
        self._task = asyncio.ensure_future(self._read())
        client.tasks.append(self._task)

    async def _read(self) -> None:
        while True:
            frame = await self.client.receive(timeout=600)
            self.frames.setdefault(frame["stream"], []).append(frame["data"])
            self.times.setdefault(frame["stream"], []).append(time.monotonic())
            self._arrived.set()

    async def until(self, done, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            if self._task.done():
                self._task.result()
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; got { ({k: len(v) for k, v in self.frames.items()}) }"
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))
            except TimeoutError:
                pass

    def of(self, stream: str) -> list[dict]:
        return self.frames.get(stream, [])

    def reached(self, stream: str, update_id: int):
        return lambda r: bool(r.of(stream)) and r.of(stream)[-1]["u"] >= update_id

    def gaps(self, stream: str) -> list[float]:
        times = self.times.get(stream, [])
        return [b - a for a, b in zip(times, times[1:], strict=False)]


def random_order(rng: random.Random, users: list) -> PlaceOrder:
    side = rng.choice(["Bid", "Ask"])
    # Around 140.00, wide enough for many levels, close enough that a fifth or so cross.
    price = 14000 + rng.randint(-30, 30) + (8 if side == "Bid" else -8) * (rng.random() < 0.2)
    return PlaceOrder(
        ts=0,
        account=rng.choice(users).pk,
        market="SOL_USDC",
        side=side,
        order_type="Limit",
        price=price,
        quantity=rng.randint(1, 500),
    )


async def burst(commands: list) -> None:
    """Append all but the last without waiting (the engine takes them in one or a few loops),
    then submit the last and wait for it: every earlier command has been applied by then."""
    for command in commands[:-1]:
        await sync_to_async(append)(command)
    await sync_to_async(submit)(commands[-1])


# --- depth ---------------------------------------------------------------------------------


async def test_depth_events_after_a_rest_snapshot_rebuild_exactly_the_rest_book(
    ws, engine_process, make_funded_user
):
    users = await traders(make_funded_user, 4)
    rng = random.Random(20250806)
    client = await subscribed(ws, "depth.SOL_USDC")

    await burst([random_order(rng, users) for _ in range(60)])
    snapshot = await rest_depth()  # taken while events are buffered, as a client would
    await burst(
        [random_order(rng, users) for _ in range(60)]
        + [CancelAll(ts=0, account=users[0].pk, market="SOL_USDC")]
    )
    await burst([random_order(rng, users) for _ in range(30)])
    final = await rest_depth()

    received = Received(client)
    await received.until(received.reached("depth.SOL_USDC", int(final["lastUpdateId"])))
    events = received.of("depth.SOL_USDC")
    book = DepthBook(snapshot)
    applied = book.apply_all(events)

    assert int(snapshot["lastUpdateId"]) > 0
    assert applied < len(events)  # the events the snapshot already covered were dropped
    assert book.last_update_id == int(final["lastUpdateId"])
    assert book.levels() == {"bids": final["bids"], "asks": final["asks"]}


async def test_consecutive_depth_events_continue_each_others_update_ids(ws, engine_process, make_funded_user):
    users = await traders(make_funded_user, 3)
    rng = random.Random(5)
    client = await subscribed(ws, "depth.SOL_USDC")
    for _ in range(5):
        await burst([random_order(rng, users) for _ in range(20)])
    final = await rest_depth()

    received = Received(client)
    await received.until(received.reached("depth.SOL_USDC", int(final["lastUpdateId"])))
    events = received.of("depth.SOL_USDC")
    assert events[0]["U"] == 1
    assert [e["U"] for e in events[1:]] == [e["u"] + 1 for e in events[:-1]]
    assert all(e["U"] <= e["u"] for e in events)


async def test_a_dropped_depth_event_is_detected_from_the_update_ids(ws, engine_process, make_funded_user):
    users = await traders(make_funded_user, 2)
    empty = await rest_depth()
    client = await subscribed(ws, "depth.SOL_USDC")
    for i in range(4):  # one engine loop each: four events
        await place(users[i % 2], "Bid", 13900 + i, 100)
    received = Received(client)
    await received.until(lambda r: len(r.of("depth.SOL_USDC")) == 4)
    events = received.of("depth.SOL_USDC")

    assert DepthBook(empty).apply_all(events) == 4
    lost = events[2]
    with pytest.raises(DepthGap) as gap:
        DepthBook(empty).apply_all(events[:2] + events[3:])
    assert gap.value.expected_first == lost["U"]
    assert gap.value.event == events[3]


async def test_aggregated_depth_streams_coalesce_over_their_interval_and_keep_the_id_chain(
    ws, engine_process, make_funded_user
):
    users = await traders(make_funded_user, 3)
    rng = random.Random(11)
    empty = await rest_depth()
    client = await subscribed(ws, "depth.SOL_USDC", "depth.200ms.SOL_USDC", "depth.1000ms.SOL_USDC")
    received = Received(client)
    started = time.monotonic()
    while time.monotonic() - started < 2.2:  # orders trickle in for a little over two seconds
        await burst([random_order(rng, users) for _ in range(3)])
        await asyncio.sleep(0.03)
    final = await rest_depth()
    last = int(final["lastUpdateId"])

    await received.until(
        lambda r: all(
            r.reached(s, last)(r) for s in ("depth.SOL_USDC", "depth.200ms.SOL_USDC", "depth.1000ms.SOL_USDC")
        ),
        timeout=5,
    )
    raw, fast, slow = (
        received.of(s) for s in ("depth.SOL_USDC", "depth.200ms.SOL_USDC", "depth.1000ms.SOL_USDC")
    )
    for stream, events in (("depth.200ms.SOL_USDC", fast), ("depth.1000ms.SOL_USDC", slow)):
        book = DepthBook(empty)
        assert book.apply_all(events) == len(events)  # a complete chain from update id 1
        assert book.levels() == {"bids": final["bids"], "asks": final["asks"]}, stream
    assert len(slow) < len(fast) < len(raw)
    # The engine spaces them by its own clock; arrival times add only delivery jitter, which a
    # loaded machine can make a few tens of milliseconds: hence the median and the margins.
    assert len(fast) <= 2.2 / 0.2 + 3 and len(slow) <= 2.2 / 1.0 + 2
    assert statistics.median(received.gaps("depth.200ms.SOL_USDC")) > 0.18
    assert min(received.gaps("depth.200ms.SOL_USDC")) > 0.1
    assert min(received.gaps("depth.1000ms.SOL_USDC")) > 0.8


# --- trades, book ticker, ticker -------------------------------------------------------------


async def test_a_crossing_order_publishes_its_trade_and_the_new_top_of_book(
    ws, engine_process, make_funded_user
):
    maker, taker = await traders(make_funded_user, 2)
    client = await subscribed(ws, "trade.SOL_USDC", "bookTicker.SOL_USDC")
    resting = await place(maker, "Ask", 14025, 150)
    ask_id = resting[0]["order_id"]
    received = Received(client)
    await received.until(lambda r: len(r.of("bookTicker.SOL_USDC")) == 1)
    taking = await place(taker, "Bid", 14030, 100)
    trade_event = next(e for e in taking if e["type"] == "Trade")
    bid_id = taking[0]["order_id"]
    await received.until(lambda r: len(r.of("bookTicker.SOL_USDC")) == 2 and len(r.of("trade.SOL_USDC")) == 1)

    us = trade_event["ts"] * 1000
    assert received.of("trade.SOL_USDC") == [
        {"e": "trade", "E": us, "s": "SOL_USDC", "p": "140.25", "q": "1", "t": 1, "m": False,
         "b": str(bid_id), "a": str(ask_id), "T": us}
    ]  # fmt: skip
    first, second = received.of("bookTicker.SOL_USDC")
    assert {k: first[k] for k in ("e", "s", "a", "A", "b", "B", "u")} == {
        "e": "bookTicker", "s": "SOL_USDC", "a": "140.25", "A": "1.5", "b": None, "B": None, "u": 1
    }  # fmt: skip
    assert {k: second[k] for k in ("a", "A", "b", "B", "u")} == {
        "a": "140.25",
        "A": "0.5",
        "b": None,
        "B": None,
        "u": 2,
    }
    assert second["E"] == second["T"] == us


async def test_the_ticker_is_pushed_at_most_once_a_second_and_ends_with_every_trade(
    ws, engine_process, make_funded_user
):
    maker, taker = await traders(make_funded_user, 2)
    client = await subscribed(ws, "ticker.SOL_USDC", "trade.SOL_USDC")
    received = Received(client)
    prices = [14000 + 10 * i for i in range(12)]  # 140.00, 140.10, ... 141.10
    for price in prices:  # one trade of 1 SOL every 0.2 s, for about 2.4 s
        await place(maker, "Ask", price, 100)
        await place(taker, "Bid", price, 100)
        await asyncio.sleep(0.2)

    await received.until(lambda r: bool(r.of("ticker.SOL_USDC")) and r.of("ticker.SOL_USDC")[-1]["n"] == 12)
    tickers = received.of("ticker.SOL_USDC")
    assert 2 <= len(tickers) <= 4
    assert min(received.gaps("ticker.SOL_USDC")) > 0.8
    last = tickers[-1]
    assert {k: v for k, v in last.items() if k != "E"} == {
        "e": "ticker", "s": "SOL_USDC", "o": "140", "c": "141.1", "h": "141.1", "l": "140", "v": "12",
        "V": "1686.6", "n": 12
    }  # fmt: skip
    assert last["E"] == received.of("trade.SOL_USDC")[-1]["E"]


# --- private streams ---------------------------------------------------------------------------


async def test_a_signed_subscriber_gets_its_order_and_balance_updates_from_the_engine(
    ws, engine_process, make_funded_user, api_key
):
    alice_user = (await traders(make_funded_user, 1))[0]
    alice = await sync_to_async(api_key)("alice", user=alice_user)
    client = await ws()
    await client.subscribe(
        "account.orderUpdate.SOL_USDC", "account.balanceUpdate", signature=alice.signature()
    )
    await client.settle()
    # At once: the engine reads who subscribed privately right after the batch holding the order.
    events = await place(alice_user, "Bid", 10000, 100)
    order_id = events[0]["order_id"]
    us = events[0]["ts"] * 1000
    received = Received(client)
    await received.until(lambda r: r.of("account.orderUpdate.SOL_USDC") and r.of("account.balanceUpdate"))

    assert received.of("account.orderUpdate.SOL_USDC") == [
        {"e": "orderAccepted", "E": us, "s": "SOL_USDC", "c": None, "S": "Bid", "o": "LIMIT", "f": "GTC",
         "q": "1", "p": "100", "X": "New", "i": str(order_id), "z": "0", "Z": "0", "T": us}
    ]  # fmt: skip
    assert received.of("account.balanceUpdate") == [
        {"e": "balanceUpdate", "E": us, "a": "USDC", "A": "999899.95", "L": "100.05", "S": "0"}
    ]
