"""Scenario tests: order types, time in force, priority, partial fills, cancels."""

from __future__ import annotations

import pytest

from engine.core import (
    ASK,
    BID,
    CANCELLED,
    EXPIRED,
    FILLED,
    FOK,
    IOC,
    NEW,
    PARTIALLY_FILLED,
    REASON_UNFILLED,
    REASON_USER,
    REJECT_MAKER,
    BalanceChanged,
    DepthChanged,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    Rejected,
    Trade,
)

from .helpers import BUYER, OTHER, SELLER, START_SOL, START_USD, Harness, of, one, types


def test_limit_buy_rests_and_locks_notional_plus_worst_fee():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    ev = h.buy(BUYER, 100, 10)
    assert types(ev) == ["OrderAccepted", "DepthChanged", "BalanceChanged"]
    acc = ev[0]
    assert (acc.order_id, acc.status, acc.price, acc.quantity, acc.executed_quantity) == (1, NEW, 100, 10, 0)
    # 10 lots * 100 ticks = 1000, + floor(1000 * 20 / 10000) = 2
    assert h.bal(BUYER, "USD") == (START_USD - 1002, 1002)
    assert h.depth() == ([(100, 10)], [])
    h.check()


def test_limit_sell_rests_and_locks_base():
    h = Harness()
    h.sell(SELLER, 100, 10)
    assert h.bal(SELLER, "SOL") == (START_SOL - 10, 10)
    assert h.bal(SELLER, "USD") == (START_USD, 0)
    assert h.depth() == ([], [(100, 10)])
    h.check()


def test_trade_happens_at_the_makers_price():
    h = Harness()
    h.sell(SELLER, 100, 10)
    ev = h.buy(BUYER, 105, 10)
    t = one(ev, Trade)
    assert (t.price, t.quantity, t.quote_quantity) == (100, 10, 1000)
    assert (t.buyer_order_id, t.seller_order_id, t.is_buyer_maker) == (2, 1, False)


def test_best_price_first_across_levels_not_time_order():
    h = Harness()
    h.sell(SELLER, 103, 1)  # oldest, worst price
    h.sell(SELLER, 101, 1)
    h.sell(SELLER, 102, 1)
    ev = h.buy(BUYER, 105, 3)
    assert [(t.price, t.seller_order_id) for t in of(ev, Trade)] == [(101, 2), (102, 3), (103, 1)]
    assert h.depth() == ([], [])
    h.check()


def test_sell_taker_hits_highest_bid_first():
    h = Harness()
    h.buy(BUYER, 98, 1)
    h.buy(BUYER, 100, 1)
    h.buy(BUYER, 99, 1)
    ev = h.sell(SELLER, 90, 3)
    assert [t.price for t in of(ev, Trade)] == [100, 99, 98]
    h.check()


def test_time_priority_within_a_level():
    h = Harness()
    h.sell(SELLER, 100, 3)  # order 1, first in line
    h.sell(OTHER, 100, 3)  # order 2
    ev = h.buy(BUYER, 100, 4)
    assert [(t.seller_order_id, t.quantity) for t in of(ev, Trade)] == [(1, 3), (2, 1)]
    assert h.depth() == ([], [(100, 2)])
    h.check()


def test_partially_filled_maker_is_filled_for_its_remaining_quantity_only():
    h = Harness()
    h.sell(SELLER, 100, 10)
    h.buy(BUYER, 100, 4)
    (o,) = h.e.open_orders(SELLER)
    assert (o.remaining, o.executed, o.status) == (6, 4, PARTIALLY_FILLED)
    assert h.depth() == ([], [(100, 6)])
    assert h.bal(SELLER, "SOL") == (START_SOL - 10, 6)
    ev = h.buy(BUYER, 100, 10)
    t = one(ev, Trade)
    assert t.quantity == 6
    maker_fill = [f for f in of(ev, OrderFilled) if f.is_maker][0]
    assert (maker_fill.executed_quantity, maker_fill.status) == (10, FILLED)
    assert h.depth() == ([(100, 4)], [])  # the buyer's remaining 4 rest
    assert h.bal(SELLER, "SOL") == (START_SOL - 10, 0)
    h.check()


def test_partial_fill_then_cancel_unlocks_exactly_the_remainder():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.buy(BUYER, 100, 10)  # locks 1000 + 2
    h.sell(SELLER, 100, 4)  # buyer is maker: pays 400 + floor(400 * 10 / 10000) = 0
    # remaining reserve R(6) = 600 + floor(600 * 20 / 10000) = 601; 1002 - 400 - 601 = 1 unlocked
    assert h.bal(BUYER, "USD") == (START_USD - 400 - 601, 601)
    ev = h.cancel(BUYER, order_id=1)
    assert types(ev) == ["OrderCancelled", "DepthChanged", "BalanceChanged"]
    c = ev[0]
    assert (c.status, c.reason, c.executed_quantity, c.executed_quote_quantity) == (
        CANCELLED,
        REASON_USER,
        4,
        400,
    )
    assert h.bal(BUYER, "USD") == (START_USD - 400, 0)
    assert h.bal(BUYER, "SOL") == (START_SOL + 4, 0)
    assert h.depth() == ([], [])
    h.check()


def test_cancelling_a_sell_unlocks_base_not_quote():
    h = Harness()
    h.sell(SELLER, 100, 10)
    ev = h.cancel(SELLER, order_id=1)
    bc = of(ev, BalanceChanged)
    assert [(b.account, b.asset, b.available, b.locked) for b in bc] == [(SELLER, "SOL", START_SOL, 0)]
    assert h.bal(SELLER, "USD") == (START_USD, 0)
    h.check()


def test_cancel_by_client_id():
    h = Harness()
    h.buy(BUYER, 100, 1, client_id=77)
    ev = h.cancel(BUYER, client_id=77)
    assert one(ev, OrderCancelled).client_id == 77
    assert h.e.open_orders(BUYER) == []
    h.check()


def test_cancel_from_the_middle_of_a_level_keeps_fifo_of_the_rest():
    h = Harness()
    for acct in (SELLER, OTHER, SELLER):
        h.sell(acct, 100, 2)  # orders 1, 2, 3
    h.cancel(OTHER, order_id=2)
    assert h.depth() == ([], [(100, 4)])
    ev = h.buy(BUYER, 100, 3)
    assert [(t.seller_order_id, t.quantity) for t in of(ev, Trade)] == [(1, 2), (3, 1)]
    h.check()


def test_ioc_remainder_expires_and_is_unlocked():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.sell(SELLER, 100, 5)
    ev = h.buy(BUYER, 100, 8, time_in_force=IOC)
    assert types(ev) == [
        "OrderAccepted",
        "Trade",
        "OrderFilled",
        "OrderFilled",
        "OrderExpired",
        "DepthChanged",
        "BalanceChanged",
        "BalanceChanged",
        "BalanceChanged",
        "BalanceChanged",
        "BalanceChanged",
    ]
    x = one(ev, OrderExpired)
    assert (x.status, x.reason, x.executed_quantity, x.quantity) == (EXPIRED, REASON_UNFILLED, 5, 8)
    # paid 500 + floor(500 * 20 / 10000) = 1
    assert h.bal(BUYER, "USD") == (START_USD - 501, 0)
    assert h.bal(BUYER, "SOL") == (START_SOL + 5, 0)
    assert h.depth() == ([], [])
    h.check()


def test_ioc_without_liquidity_is_accepted_then_expired():
    h = Harness()
    ev = h.buy(BUYER, 100, 5, time_in_force=IOC)
    assert types(ev) == ["OrderAccepted", "OrderExpired", "BalanceChanged"]
    assert h.bal(BUYER, "USD") == (START_USD, 0)
    h.check()


def test_fok_fills_completely_across_levels():
    h = Harness()
    h.sell(SELLER, 100, 3)
    h.sell(OTHER, 101, 3)
    ev = h.buy(BUYER, 101, 5, time_in_force=FOK)
    assert [(t.price, t.quantity) for t in of(ev, Trade)] == [(100, 3), (101, 2)]
    assert of(ev, OrderFilled)[-1].status == FILLED
    assert h.depth() == ([], [(101, 1)])
    h.check()


def test_fok_that_cannot_fill_completely_is_rejected_and_changes_nothing():
    h = Harness()
    h.sell(SELLER, 100, 3)
    h.sell(OTHER, 102, 3)
    before = h.e.snapshot()
    ev = h.buy(BUYER, 101, 5, time_in_force=FOK)  # only 3 lots at <= 101
    r = one(ev, Rejected)
    assert (r.code, r.command) == ("INVALID_ORDER", "PlaceOrder")
    assert len(ev) == 1
    after = h.e.snapshot()
    # only the seq counter moved, by the Rejected event's own seq
    assert after != before
    h.e._seq -= 1
    assert h.e.snapshot() == before


def test_fok_blocked_by_own_order_under_reject_taker_is_rejected():
    h = Harness()
    h.sell(BUYER, 100, 3)  # the buyer's own ask is first in line
    h.sell(SELLER, 100, 3)
    digest = h.e.state_digest()
    ev = h.buy(BUYER, 100, 3, time_in_force=FOK)
    assert one(ev, Rejected).code == "INVALID_ORDER"
    assert h.e.state_digest() != digest  # seq moved...
    h.e._seq -= 1
    assert h.e.state_digest() == digest  # ...and nothing else


def test_fok_with_reject_maker_skips_own_orders_and_cancels_them():
    h = Harness()
    h.sell(BUYER, 100, 3)  # own, cancelled by STP
    h.sell(SELLER, 101, 5)
    ev = h.buy(BUYER, 101, 5, time_in_force=FOK, self_trade_prevention=REJECT_MAKER)
    assert types(ev)[:2] == ["OrderAccepted", "OrderCancelled"]
    assert [(t.price, t.quantity) for t in of(ev, Trade)] == [(101, 5)]
    assert h.depth() == ([], [])
    h.check()


def test_post_only_rests_when_it_does_not_cross():
    h = Harness()
    h.sell(SELLER, 101, 1)
    ev = h.buy(BUYER, 100, 1, post_only=True)
    assert one(ev, OrderAccepted).post_only is True
    assert h.depth() == ([(100, 1)], [(101, 1)])
    h.check()


def test_post_only_that_would_cross_is_rejected_and_changes_nothing():
    h = Harness()
    h.sell(SELLER, 100, 1)
    digest = h.e.state_digest()
    seq = h.e.last_seq
    ev = h.buy(BUYER, 100, 1, post_only=True)
    r = one(ev, Rejected)
    assert r.code == "INVALID_ORDER" and "post-only" in r.message
    assert r.seq == seq + 1
    h.e._seq -= 1
    assert h.e.state_digest() == digest


def test_market_buy_by_quantity_locks_the_walked_cost_and_fills():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.sell(SELLER, 100, 20)
    h.sell(SELLER, 101, 30)
    ev = h.market(BUYER, BID, quantity=40)
    assert [(t.price, t.quantity, t.buyer_fee, t.seller_fee) for t in of(ev, Trade)] == [
        (100, 20, 4, 2),  # 2000 * 20 / 10000 = 4; * 10 / 10000 = 2
        (101, 20, 4, 2),  # 2020 -> 4.04 -> 4; 2.02 -> 2
    ]
    last = of(ev, OrderFilled)[-1]
    assert (last.order_type, last.time_in_force, last.status, last.price) == ("Market", IOC, FILLED, None)
    assert h.bal(BUYER, "USD") == (START_USD - 2004 - 2024, 0)
    assert h.bal(BUYER, "SOL") == (START_SOL + 40, 0)
    assert h.bal(0, "USD") == (12, 0)
    assert h.depth() == ([], [(101, 10)])
    h.check()


@pytest.mark.parametrize("size", [{"quantity": 5}, {"quote_quantity": 1000}], ids=["quantity", "budget"])
def test_market_buy_beyond_the_book_fills_what_exists_and_expires_the_rest(size):
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(SELLER, 100, 2)
    x = one(h.market(BUYER, BID, **size), OrderExpired)
    assert (x.executed_quantity, x.executed_quote_quantity, x.reason) == (2, 200, REASON_UNFILLED)
    assert h.bal(BUYER, "USD") == (START_USD - 200, 0)
    h.check()


def test_market_buy_by_quantity_requires_funds_for_the_fillable_cost():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20, fund=False)
    h.deposit(SELLER, "SOL", 100)
    h.deposit(BUYER, "USD", 4027)
    h.sell(SELLER, 100, 20)
    h.sell(SELLER, 101, 20)
    ev = h.market(BUYER, BID, quantity=40)  # costs 2004 + 2024 = 4028
    assert one(ev, Rejected).code == "INSUFFICIENT_FUNDS"
    h.deposit(BUYER, "USD", 1)
    ev = h.market(BUYER, BID, quantity=40)
    assert of(ev, OrderFilled)[-1].status == FILLED
    assert h.bal(BUYER, "USD") == (0, 0)
    h.check()


def test_market_sell_by_quantity_locks_base_and_expires_the_remainder():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.buy(BUYER, 100, 3)
    ev = h.market(SELLER, ASK, quantity=5)
    t = one(ev, Trade)
    assert (t.price, t.quantity, t.quote_quantity, t.seller_fee, t.buyer_fee) == (100, 3, 300, 0, 0)
    assert one(ev, OrderExpired).executed_quantity == 3
    assert h.bal(SELLER, "SOL") == (START_SOL - 3, 0)
    assert h.bal(SELLER, "USD") == (START_USD + 300, 0)
    h.check()


def test_market_buy_by_budget_buys_the_most_lots_whose_cost_fits():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.sell(SELLER, 100, 10)
    h.sell(SELLER, 101, 10)
    ev = h.market(BUYER, BID, quote_quantity=1500)
    # level 100: all 10 lots: 1000 + fee 2 = 1002, 498 left
    # level 101: 4 lots: 404 + floor(404 * 20 / 10000) = 0 -> 404 (5 would be 505 + 1), 94 left
    assert [(t.price, t.quantity, t.buyer_fee) for t in of(ev, Trade)] == [(100, 10, 2), (101, 4, 0)]
    last = of(ev, OrderFilled)[-1]
    assert (last.quantity, last.quote_quantity, last.executed_quantity, last.executed_quote_quantity) == (
        None,
        1500,
        14,
        1404,
    )
    assert last.status == FILLED  # 94 cannot buy another lot at 101
    assert not of(ev, OrderExpired)
    assert h.bal(BUYER, "USD") == (START_USD - 1406, 0)  # the unspent 94 is unlocked
    assert h.bal(BUYER, "SOL") == (START_SOL + 14, 0)
    h.check()


def test_market_buy_by_budget_locks_the_budget_and_needs_it_available():
    h = Harness(fund=False)
    h.deposit(SELLER, "SOL", 10)
    h.deposit(BUYER, "USD", 999)
    h.sell(SELLER, 100, 1)
    assert one(h.market(BUYER, BID, quote_quantity=1000), Rejected).code == "INSUFFICIENT_FUNDS"


def test_market_order_into_an_empty_book_is_rejected_no_liquidity():
    h = Harness()
    h.sell(SELLER, 100, 1)  # only asks: a market sell finds no bids
    r = one(h.market(SELLER, ASK, quantity=1), Rejected)
    assert (r.code, r.message) == ("INVALID_ORDER", "no liquidity")
    h2 = Harness()
    r = one(h2.market(BUYER, BID, quantity=1), Rejected)
    assert (r.code, r.message) == ("INVALID_ORDER", "no liquidity")
    r = one(h2.market(BUYER, BID, quote_quantity=100), Rejected)
    assert (r.code, r.message) == ("INVALID_ORDER", "no liquidity")


def test_gtc_buy_that_sweeps_then_rests_its_remainder():
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(SELLER, 100, 2)
    ev = h.buy(BUYER, 101, 5)
    assert of(ev, DepthChanged)[-1].price == 101
    assert h.depth() == ([(101, 3)], [])
    (o,) = h.e.open_orders(BUYER)
    assert (o.status, o.remaining, o.executed) == (PARTIALLY_FILLED, 3, 2)
    assert h.bal(BUYER, "USD") == (START_USD - 200 - 303, 303)
    h.check()


def test_open_order_view_has_order_event_fields():
    h = Harness()
    h.buy(BUYER, 100, 2, client_id=5)
    (o,) = h.e.open_orders(BUYER, market="SOL_USD")
    v = o.view()
    assert v == {
        "order_id": 1,
        "account": BUYER,
        "market": "SOL_USD",
        "side": BID,
        "order_type": "Limit",
        "time_in_force": "GTC",
        "post_only": False,
        "self_trade_prevention": "RejectTaker",
        "client_id": 5,
        "price": 100,
        "quantity": 2,
        "quote_quantity": None,
        "executed_quantity": 0,
        "executed_quote_quantity": 0,
        "status": NEW,
        "created_ts": o.created_ts,
        "fee_bps": 20,  # the higher of the harness market's maker (10) and taker (20) fees
        "trigger_price": None,
        "priority": 1,
    }
    assert h.e.get_order(1) is o
    assert h.e.find_order_by_client_id(BUYER, "SOL_USD", 5) is o
    assert h.e.find_order_by_client_id(SELLER, "SOL_USD", 5) is None
    assert h.e.open_orders(BUYER, market="OTHER") == []
