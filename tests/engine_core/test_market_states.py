"""Scenario tests: market states Open, PostOnly, CancelOnly, Closed."""

from __future__ import annotations

from engine.core import CANCEL_ONLY, CLOSED, OPEN, POST_ONLY, MarketChanged, OrderCancelled, Rejected

from .helpers import BUYER, SELLER, Harness, one


def test_post_only_state_accepts_only_post_only_limit_orders():
    h = Harness()
    assert one(h.update(state=POST_ONLY), MarketChanged).state == POST_ONLY
    assert one(h.buy(BUYER, 100, 1), Rejected).code == "TRADING_PAUSED"
    assert one(h.market(BUYER, "Bid", quantity=1), Rejected).code == "TRADING_PAUSED"
    assert not [e for e in h.buy(BUYER, 100, 1, post_only=True) if isinstance(e, Rejected)]
    h.check()


def test_post_only_state_allows_cancels():
    h = Harness()
    h.buy(BUYER, 100, 1)
    h.update(state=POST_ONLY)
    assert one(h.cancel(BUYER, order_id=1), OrderCancelled).order_id == 1


def test_cancel_only_state_rejects_orders_and_allows_cancels():
    h = Harness()
    h.sell(SELLER, 100, 1)
    h.update(state=CANCEL_ONLY)
    assert one(h.sell(SELLER, 100, 1, post_only=True), Rejected).code == "TRADING_PAUSED"
    assert one(h.cancel_all(SELLER), OrderCancelled).order_id == 1


def test_closed_market_rejects_everything_including_cancels():
    h = Harness()
    h.sell(SELLER, 100, 1)
    h.update(state=CLOSED)
    assert one(h.sell(SELLER, 100, 1), Rejected).code == "TRADING_PAUSED"
    assert one(h.cancel(SELLER, order_id=1), Rejected).code == "TRADING_PAUSED"
    assert one(h.cancel_all(SELLER), Rejected).code == "TRADING_PAUSED"
    assert h.depth() == ([], [(100, 1)])


def test_resume_after_halt_keeps_the_book():
    h = Harness()
    h.sell(SELLER, 100, 1)
    h.update(state=CLOSED)
    h.update(state=OPEN)
    ev = h.market(BUYER, "Bid", quantity=1)
    assert [type(e).__name__ for e in ev][1] == "Trade"
    assert h.e.markets["SOL_USD"].state == OPEN
    h.check()


def test_update_market_leaves_unset_fields_alone():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    mc = one(h.update(min_notional=50), MarketChanged)
    assert (mc.min_notional, mc.maker_fee_bps, mc.taker_fee_bps, mc.state) == (50, 10, 20, OPEN)
    assert one(h.sell(SELLER, 49, 1), Rejected).code == "INVALID_ORDER"
