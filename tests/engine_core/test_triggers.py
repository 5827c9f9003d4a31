"""Trigger orders: they wait off the book (TriggerPending) with what they will need locked until
the market's last trade price reaches their trigger price from the side it was on when they were
placed; they are then placed as the order they carry, within the command whose trade moved the
price, or close TriggerFailed when they cannot be placed then. The harness market SOL_USD has
tick 1 and step 1 (notional = price x quantity), maker fee 10 bps, taker fee 20 bps."""

from __future__ import annotations

import copy
import hashlib
import marshal

from engine.core import (
    ASK,
    BID,
    CANCELLED,
    MARKET,
    NEW,
    TRIGGER_FAILED,
    TRIGGER_PENDING,
    Engine,
    OrderAccepted,
    OrderCancelled,
    OrderTriggered,
    OrderTriggerFailed,
    PlaceOrder,
    Trade,
)
from engine.core.snapshot import _HEADER, MAGIC

from .helpers import BUYER, OTHER, SELLER, START_USD, Harness, assert_rejected_and_unchanged, of, one


def traded_at(price: int) -> Harness:
    """A harness whose market last traded at ``price`` (one lot between OTHER and SELLER)."""
    h = Harness()
    h.sell(SELLER, price, 1)
    h.buy(OTHER, price, 1)
    assert h.e._books["SOL_USD"].last_price == price
    return h


def test_a_trigger_order_waits_off_the_book_with_its_funds_locked():
    h = traded_at(100)

    events = h.buy(BUYER, 110, 5, trigger_price=105)

    accepted = one(events, OrderAccepted)
    assert (accepted.status, accepted.trigger_price, accepted.priority) == (TRIGGER_PENDING, 105, None)
    assert h.depth() == ([], [])
    # 550 plus the higher of the two fees (20 bps), rounded down: 551
    assert h.bal(BUYER) == (START_USD - 551, 551)
    h.check()


def test_a_market_buy_trigger_by_budget_waits_with_its_budget_locked():
    h = traded_at(100)

    events = h.market(BUYER, BID, quote_quantity=1_000, trigger_price=105)

    accepted = one(events, OrderAccepted)
    assert (accepted.status, accepted.quantity, accepted.quote_quantity) == (TRIGGER_PENDING, None, 1_000)
    assert h.bal(BUYER) == (START_USD - 1_000, 1_000)
    h.check()


def test_a_buy_trigger_above_the_last_price_is_placed_when_a_trade_reaches_it():
    h = traded_at(100)
    pending = one(h.buy(BUYER, 110, 5, trigger_price=105), OrderAccepted)
    h.sell(SELLER, 104, 1)
    h.buy(OTHER, 104, 1)  # trades at 104: not reached
    assert h.e.get_order(pending.order_id).status == TRIGGER_PENDING
    h.sell(SELLER, 105, 10)

    events = h.buy(OTHER, 105, 1)  # trades at 105: reached

    triggered = one(events, OrderTriggered)
    # placed after order 7 (the buy that reached it): the next id is its place in the queue
    assert (triggered.order_id, triggered.status, triggered.priority) == (pending.order_id, NEW, 8)
    trades = [(t.price, t.quantity, t.buyer_order_id) for t in of(events, Trade)]
    assert trades == [(105, 1, 7), (105, 5, pending.order_id)]
    assert h.e.get_order(pending.order_id) is None  # filled
    h.check()


def test_a_sell_trigger_below_the_last_price_is_placed_when_the_price_falls_to_it():
    h = traded_at(100)
    stop = one(h.market(SELLER, ASK, quantity=3, trigger_price=95), OrderAccepted)
    h.buy(OTHER, 94, 10)
    h.buy(BUYER, 95, 1)

    events = h.market(SELLER, ASK, quantity=1)  # trades at 95: the stop fires and sells into the bids

    assert one(events, OrderTriggered).order_id == stop.order_id
    assert [(t.price, t.quantity) for t in of(events, Trade)] == [(95, 1), (94, 3)]
    assert h.e._books["SOL_USD"].last_price == 94
    h.check()


def test_a_trigger_fires_only_when_the_price_reaches_it_from_its_side():
    h = traded_at(100)
    pending = one(h.sell(SELLER, 90, 1, trigger_price=95), OrderAccepted)

    h.sell(SELLER, 101, 1)
    h.buy(OTHER, 101, 1)  # the price moves away from it

    assert h.e.get_order(pending.order_id).status == TRIGGER_PENDING


def test_a_trigger_that_cannot_be_placed_when_reached_fails_and_unlocks_its_funds():
    h = traded_at(100)
    # post-only: placed when the price reaches 105, it would take the ask resting at 105
    pending = one(h.buy(BUYER, 106, 2, trigger_price=105, post_only=True), OrderAccepted)
    h.sell(SELLER, 105, 5)

    events = h.buy(OTHER, 105, 1)

    failed = one(events, OrderTriggerFailed)
    assert (failed.order_id, failed.status, failed.reason) == (
        pending.order_id,
        TRIGGER_FAILED,
        "INVALID_ORDER",
    )
    assert h.bal(BUYER) == (START_USD, 0)
    assert h.e.get_order(pending.order_id) is None
    h.check()


def test_triggers_reached_one_after_another_all_fire_in_the_order_the_price_reached_them():
    h = traded_at(100)
    h.sell(SELLER, 102, 1)
    h.sell(SELLER, 104, 1)
    h.sell(SELLER, 106, 1)
    # each buy trigger takes the next ask, moving the price up to the next trigger
    first = one(h.market(BUYER, BID, quantity=1, trigger_price=102), OrderAccepted)
    second = one(h.market(BUYER, BID, quantity=1, trigger_price=104), OrderAccepted)

    events = h.buy(OTHER, 102, 1)  # trades at 102

    assert [e.order_id for e in of(events, OrderTriggered)] == [first.order_id, second.order_id]
    assert [t.price for t in of(events, Trade)] == [102, 104, 106]
    h.check()


def test_cancelling_a_pending_trigger_unlocks_its_funds():
    h = traded_at(100)
    pending = one(h.buy(BUYER, 110, 5, trigger_price=105), OrderAccepted)

    events = h.cancel(BUYER, pending.order_id)

    assert (one(events, OrderCancelled).status, h.bal(BUYER)) == (CANCELLED, (START_USD, 0))
    assert h.e._books["SOL_USD"].triggers_above == []
    h.check()


def test_a_trigger_needs_a_trade_in_its_market_to_be_reached_from():
    h = Harness()

    assert_rejected_and_unchanged(
        h.e, lambda: h.buy(BUYER, 110, 5, trigger_price=105), "INVALID_ORDER", "no trade"
    )


def test_a_trigger_at_the_last_price_is_refused():
    h = traded_at(100)

    assert_rejected_and_unchanged(
        h.e, lambda: h.buy(BUYER, 110, 5, trigger_price=100), "INVALID_ORDER", "last price"
    )


def test_a_trigger_needs_funds_for_what_it_will_place():
    h = traded_at(100)

    assert_rejected_and_unchanged(
        h.e, lambda: h.sell(BUYER, 90, 10_000, trigger_price=95), "INSUFFICIENT_FUNDS", "SOL"
    )


def test_pending_triggers_and_the_last_price_survive_a_snapshot():
    h = traded_at(100)
    h.buy(BUYER, 110, 5, trigger_price=105)
    h.sell(SELLER, 90, 2, trigger_price=95)

    restored = Engine.restore(h.e.snapshot())

    assert restored.state_digest() == h.e.state_digest()
    book = restored._books["SOL_USD"]
    assert (book.last_price, list(book.triggers_above), list(book.triggers_below)) == (
        100,
        [(105, 3)],
        [(-95, 4)],
    )
    assert [(o.order_id, o.status) for o in restored.open_orders(BUYER)] == [(3, TRIGGER_PENDING)]


def test_a_placed_trigger_order_queues_behind_the_orders_before_it_also_after_a_snapshot():
    h = traded_at(100)
    trigger = one(h.buy(BUYER, 99, 1, trigger_price=101), OrderAccepted)  # order 3
    first = one(h.buy(OTHER, 99, 1), OrderAccepted)  # order 4: at 99 before order 3 is placed
    h.sell(SELLER, 101, 1)
    h.buy(OTHER, 101, 1)  # reached: order 3 joins the level at 99, behind order 4
    sell = PlaceOrder(ts=h.ts + 1, account=SELLER, market="SOL_USD", side=ASK, order_type=MARKET, quantity=2)

    restored = Engine.restore(h.e.snapshot())

    for engine in (h.e, restored):
        trades = of(engine.apply(copy.copy(sell)), Trade)
        assert [t.buyer_order_id for t in trades] == [first.order_id, trigger.order_id]


def test_a_version_3_snapshot_still_loads_without_triggers_or_last_prices():
    h = Harness()
    h.sell(SELLER, 100, 3)
    state = marshal.loads(h.e.snapshot()[_HEADER.size :])
    version_3 = (
        3,
        *state[1:4],
        [entry[:3] for entry in state[4]],  # no last prices
        state[5][:-3] + [state[5][-1]],  # no trigger price or priority column
        *state[6:12],  # and no pending triggers
    )
    payload = marshal.dumps(version_3, 0)
    data = _HEADER.pack(MAGIC, 3, len(payload), hashlib.blake2b(payload, digest_size=32).digest()) + payload

    restored = Engine.restore(data)

    assert restored.depth("SOL_USD") == h.e.depth("SOL_USD")
    assert restored._books["SOL_USD"].last_price is None
    assert [(o.order_id, o.priority) for o in restored.open_orders(SELLER)] == [(1, 1)]
