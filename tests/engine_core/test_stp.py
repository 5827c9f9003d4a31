"""Scenario tests: self-trade prevention, in the taker's mode."""

from __future__ import annotations

from engine.core import (
    ASK,
    BID,
    CANCELLED,
    EXPIRED,
    IOC,
    REASON_SELF_TRADE,
    REJECT_BOTH,
    REJECT_MAKER,
    REJECT_TAKER,
    DepthChanged,
    OrderCancelled,
    OrderExpired,
    Trade,
)

from .helpers import BUYER, SELLER, START_SOL, START_USD, Harness, of, one, types


def test_reject_taker_is_the_default_and_expires_the_taker_keeping_the_maker():
    h = Harness()
    h.sell(BUYER, 100, 5)
    ev = h.buy(BUYER, 100, 5)  # default STP
    assert types(ev) == ["OrderAccepted", "OrderExpired", "BalanceChanged"]
    x = one(ev, OrderExpired)
    assert (x.status, x.reason, x.self_trade_prevention) == (EXPIRED, REASON_SELF_TRADE, REJECT_TAKER)
    assert h.depth() == ([], [(100, 5)])
    assert h.bal(BUYER, "USD") == (START_USD, 0)
    assert h.bal(BUYER, "SOL") == (START_SOL - 5, 5)
    h.check()


def test_reject_taker_keeps_fills_made_before_meeting_own_order():
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(SELLER, 100, 2)
    h.sell(BUYER, 100, 3)  # own order, behind the seller's
    h.sell(SELLER, 100, 4)
    ev = h.buy(BUYER, 100, 9, self_trade_prevention=REJECT_TAKER)
    assert [(t.seller_order_id, t.quantity) for t in of(ev, Trade)] == [(1, 2)]
    x = one(ev, OrderExpired)
    assert (x.executed_quantity, x.reason) == (2, REASON_SELF_TRADE)
    assert h.depth() == ([], [(100, 7)])  # own 3 and the seller's 4 remain
    assert h.bal(BUYER, "USD") == (START_USD - 200, 0)
    h.check()


def test_reject_taker_gtc_does_not_rest_after_meeting_own_order():
    h = Harness()
    h.sell(BUYER, 100, 1)
    h.buy(BUYER, 101, 5, self_trade_prevention=REJECT_TAKER)
    assert h.depth() == ([], [(100, 1)])
    assert h.e.open_orders(BUYER)[0].side == ASK


def test_reject_maker_cancels_own_maker_and_keeps_matching():
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(BUYER, 100, 3)  # own, first in line
    h.sell(SELLER, 100, 4)
    ev = h.buy(BUYER, 100, 4, self_trade_prevention=REJECT_MAKER)
    assert types(ev)[:5] == ["OrderAccepted", "OrderCancelled", "Trade", "OrderFilled", "OrderFilled"]
    c = one(ev, OrderCancelled)
    assert (c.order_id, c.status, c.reason) == (1, CANCELLED, REASON_SELF_TRADE)
    assert [(t.seller_order_id, t.quantity) for t in of(ev, Trade)] == [(2, 4)]
    assert not of(ev, OrderExpired)
    assert h.bal(BUYER, "SOL") == (START_SOL + 4, 0)  # own ask's 3 SOL unlocked, 4 bought
    assert h.depth() == ([], [])
    h.check()


def test_reject_maker_emptying_a_level_removes_it_once_and_matching_goes_on():
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(BUYER, 100, 3)  # own, alone at 100
    h.sell(SELLER, 101, 2)
    ev = h.buy(BUYER, 101, 2, self_trade_prevention=REJECT_MAKER)
    assert [(d.side, d.price, d.quantity) for d in of(ev, DepthChanged)] == [(ASK, 100, 0), (ASK, 101, 0)]
    assert [(t.price, t.quantity) for t in of(ev, Trade)] == [(101, 2)]
    assert h.depth() == ([], [])
    h.check()


def test_reject_maker_on_a_sell_taker_unlocks_the_own_bids_quote():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.buy(SELLER, 100, 10)  # the seller's own bid: locks 1002 USD
    h.buy(BUYER, 99, 1)
    ev = h.sell(SELLER, 99, 1, self_trade_prevention=REJECT_MAKER)
    assert one(ev, OrderCancelled).order_id == 1
    assert one(ev, Trade).price == 99
    # own bid fully unlocked; sold 1 @ 99 minus floor(99 * 20 / 10000) = 0
    assert h.bal(SELLER, "USD") == (START_USD + 99, 0)
    h.check()


def test_reject_both_cancels_the_maker_and_expires_the_taker():
    h = Harness()
    h.sell(BUYER, 100, 3)
    h.sell(SELLER, 100, 4)
    ev = h.buy(BUYER, 100, 4, self_trade_prevention=REJECT_BOTH, time_in_force=IOC)
    assert types(ev)[:3] == ["OrderAccepted", "OrderCancelled", "OrderExpired"]
    assert one(ev, OrderCancelled).reason == REASON_SELF_TRADE
    assert one(ev, OrderExpired).reason == REASON_SELF_TRADE
    assert not of(ev, Trade)
    assert h.depth() == ([], [(100, 4)])
    assert h.bal(BUYER, "USD") == (START_USD, 0)
    assert h.bal(BUYER, "SOL") == (START_SOL, 0)
    h.check()


def test_stp_applies_to_market_orders():
    h = Harness()
    h.buy(SELLER, 100, 2)
    ev = h.market(SELLER, ASK, quantity=2)
    assert one(ev, OrderExpired).reason == REASON_SELF_TRADE
    ev = h.market(SELLER, ASK, quantity=2, self_trade_prevention=REJECT_MAKER)
    assert one(ev, OrderCancelled).reason == REASON_SELF_TRADE
    assert one(ev, OrderExpired).reason == "unfilled"  # nothing else to trade with
    assert h.depth() == ([], [])
    h.check()


def test_market_buy_by_quantity_with_reject_maker_walks_past_own_orders():
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(BUYER, 100, 5)  # own
    h.sell(SELLER, 101, 5)
    ev = h.market(BUYER, BID, quantity=5, self_trade_prevention=REJECT_MAKER)
    assert [(t.price, t.quantity) for t in of(ev, Trade)] == [(101, 5)]
    assert h.bal(BUYER, "USD") == (START_USD - 505, 0)
    h.check()
