"""Every bad command is rejected with its API code and changes nothing but the seq of its own
Rejected event (no balance, book, order id, trade id or depth update id moves)."""

from __future__ import annotations

import pytest

from engine.core import (
    ASK,
    BID,
    CANCEL_ONLY,
    CLOSED,
    LIMIT,
    MARKET,
    POST_ONLY,
    AddAsset,
    AddMarket,
    OrderAccepted,
    PlaceOrder,
    UpdateMarket,
)

from .helpers import BUYER, OTHER, SELLER, SYM, Harness, assert_rejected_and_unchanged, market_args, one


def _harness():
    h = Harness(min_price=10, max_price=1000, min_quantity=1, max_quantity=100, min_notional=50)
    h.sell(SELLER, 100, 5)  # order 1
    h.buy(BUYER, 90, 5, client_id=9)  # order 2
    return h


def _place(h, **kw):
    args = dict(account=BUYER, market=SYM, side=BID, order_type=LIMIT, price=95, quantity=1)
    args.update(kw)
    return h.run(PlaceOrder, **args)


def _add_market(h, **kw):
    args = market_args(symbol="X_USD", max_price=10, max_quantity=10, maker_fee_bps=0, taker_fee_bps=0)
    return h.run(AddMarket, **{**args, **kw})


CASES = {
    # -- markets and states
    "unknown_market": (lambda h: _place(h, market="NOPE_USD"), "INVALID_MARKET", "unknown market"),
    "halted_market": (lambda h: (h.update(state=CLOSED), lambda: _place(h)), "TRADING_PAUSED", "halted"),
    "cancel_only_market": (lambda h: (h.update(state=CANCEL_ONLY), lambda: _place(h)), "TRADING_PAUSED", ""),
    "post_only_market_non_post_only_order": (
        lambda h: (h.update(state=POST_ONLY), lambda: _place(h)),
        "TRADING_PAUSED",
        "post-only",
    ),
    "cancel_in_halted_market": (
        lambda h: (h.update(state=CLOSED), lambda: h.cancel(SELLER, order_id=1)),
        "TRADING_PAUSED",
        "halted",
    ),
    # -- price
    "price_zero": (lambda h: _place(h, price=0), "INVALID_PRICE", ""),
    "price_negative": (lambda h: _place(h, price=-5), "INVALID_PRICE", ""),
    "price_below_min": (lambda h: _place(h, price=9, quantity=10), "INVALID_PRICE", ""),
    "price_above_max": (lambda h: _place(h, price=1001), "INVALID_PRICE", ""),
    "price_missing_on_limit": (lambda h: _place(h, price=None), "INVALID_PRICE", ""),
    "price_not_an_int": (lambda h: _place(h, price="95"), "INVALID_PRICE", ""),
    # -- quantity
    "quantity_zero": (lambda h: _place(h, quantity=0), "INVALID_QUANTITY", ""),
    "quantity_negative": (lambda h: _place(h, quantity=-1), "INVALID_QUANTITY", ""),
    "quantity_above_max": (lambda h: _place(h, quantity=101), "INVALID_QUANTITY", ""),
    "market_quantity_above_max": (
        lambda h: _place(h, order_type=MARKET, price=None, quantity=101),
        "INVALID_QUANTITY",
        "",
    ),
    "quote_quantity_zero": (
        lambda h: _place(h, order_type=MARKET, price=None, quantity=None, quote_quantity=0),
        "INVALID_QUANTITY",
        "",
    ),
    # -- notional and funds
    "below_min_notional": (lambda h: _place(h, price=10, quantity=4), "INVALID_ORDER", "min notional"),
    "budget_below_min_notional": (
        lambda h: _place(h, order_type=MARKET, price=None, quantity=None, quote_quantity=49),
        "INVALID_ORDER",
        "min notional",
    ),
    "insufficient_quote_for_buy": (
        lambda h: (
            h.withdraw(OTHER, "USD", 999_000),
            lambda: _place(h, account=OTHER, price=99, quantity=100),
        ),
        "INSUFFICIENT_FUNDS",
        "USD",
    ),
    "insufficient_base_for_sell": (
        lambda h: (h.withdraw(OTHER, "SOL", 1000), lambda: _place(h, account=OTHER, side=ASK, price=200)),
        "INSUFFICIENT_FUNDS",
        "SOL",
    ),
    "unknown_account": (lambda h: _place(h, account=424242), "INSUFFICIENT_FUNDS", ""),
    "market_buy_insufficient_for_walk": (
        lambda h: (
            h.withdraw(OTHER, "USD", 1_000_000),
            lambda: _place(h, account=OTHER, order_type=MARKET, price=None),
        ),
        "INSUFFICIENT_FUNDS",
        "",
    ),
    # -- enums and shapes
    "bad_side": (lambda h: _place(h, side="Buy"), "INVALID_ORDER", "side"),
    "bad_order_type": (lambda h: _place(h, order_type="StopLoss"), "INVALID_ORDER", "order type"),
    "bad_time_in_force": (lambda h: _place(h, time_in_force="GTD"), "INVALID_ORDER", "time in force"),
    "bad_stp": (lambda h: _place(h, self_trade_prevention="Allow"), "INVALID_ORDER", "self trade"),
    "post_only_not_bool": (lambda h: _place(h, post_only=1), "INVALID_ORDER", "post_only"),
    "price_on_market_order": (lambda h: _place(h, order_type=MARKET, price=95), "INVALID_ORDER", "price"),
    "post_only_market_order": (
        lambda h: _place(h, order_type=MARKET, price=None, post_only=True),
        "INVALID_ORDER",
        "post-only",
    ),
    "post_only_ioc": (lambda h: _place(h, post_only=True, time_in_force="IOC"), "INVALID_ORDER", "GTC"),
    "post_only_crossing": (lambda h: _place(h, price=100, post_only=True), "INVALID_ORDER", "post-only"),
    "quote_quantity_on_sell": (
        lambda h: _place(h, side=ASK, order_type=MARKET, price=None, quantity=None, quote_quantity=100),
        "INVALID_ORDER",
        "quote_quantity",
    ),
    "quote_quantity_on_limit": (lambda h: _place(h, quote_quantity=100), "INVALID_ORDER", "quote_quantity"),
    "quantity_and_quote_quantity": (
        lambda h: _place(h, order_type=MARKET, price=None, quantity=1, quote_quantity=100),
        "INVALID_ORDER",
        "not both",
    ),
    "fok_with_quote_quantity": (
        lambda h: _place(
            h, order_type=MARKET, price=None, quantity=None, quote_quantity=100, time_in_force="FOK"
        ),
        "INVALID_ORDER",
        "FOK",
    ),
    "fok_cannot_fill": (
        lambda h: _place(h, price=100, quantity=6, time_in_force="FOK"),
        "INVALID_ORDER",
        "FOK",
    ),
    "market_fok_cannot_fill": (
        lambda h: _place(h, order_type=MARKET, price=None, quantity=6, time_in_force="FOK"),
        "INVALID_ORDER",
        "FOK",
    ),
    "market_into_empty_side": (
        lambda h: (
            h.cancel(BUYER, order_id=2),
            lambda: _place(h, account=SELLER, side=ASK, order_type=MARKET, price=None),
        ),
        "INVALID_ORDER",
        "no liquidity",
    ),
    "account_not_positive": (lambda h: _place(h, account=0), "INVALID_CLIENT_REQUEST", "account"),
    # -- client ids
    "duplicate_client_id": (lambda h: _place(h, client_id=9), "INVALID_ORDER", "client_id"),
    "client_id_out_of_range": (lambda h: _place(h, client_id=2**32), "INVALID_ORDER", "uint32"),
    "client_id_negative": (lambda h: _place(h, client_id=-1), "INVALID_ORDER", "uint32"),
    # -- cancels
    "cancel_unknown_order": (lambda h: h.cancel(BUYER, order_id=999), "RESOURCE_NOT_FOUND", "not found"),
    "cancel_another_accounts_order": (
        lambda h: h.cancel(BUYER, order_id=1),
        "RESOURCE_NOT_FOUND",
        "not found",
    ),
    "cancel_another_accounts_client_id": (lambda h: h.cancel(SELLER, client_id=9), "RESOURCE_NOT_FOUND", ""),
    "cancel_unknown_client_id": (lambda h: h.cancel(BUYER, client_id=10), "RESOURCE_NOT_FOUND", ""),
    "cancel_order_in_the_wrong_market": (
        lambda h: (
            _add_market(h, symbol="SOL_XX", max_price=1000),
            lambda: h.cancel(BUYER, order_id=2, market="SOL_XX"),
        ),
        "RESOURCE_NOT_FOUND",
        "",
    ),
    "cancel_id_and_mismatched_client_id": (
        lambda h: h.cancel(BUYER, order_id=2, client_id=8),
        "RESOURCE_NOT_FOUND",
        "",
    ),
    "cancel_without_ids": (lambda h: h.cancel(BUYER), "INVALID_CLIENT_REQUEST", "required"),
    "cancel_unknown_market": (lambda h: h.cancel(BUYER, order_id=2, market="NOPE"), "INVALID_MARKET", ""),
    "cancel_all_unknown_market": (lambda h: h.cancel_all(BUYER, market="NOPE"), "INVALID_MARKET", ""),
    # -- transfers
    "deposit_duplicate_tx": (
        lambda h: h.deposit(BUYER, "USD", 5, tx_id="tx1"),
        "INVALID_CLIENT_REQUEST",
        "duplicate",
    ),
    "withdraw_duplicate_tx": (
        lambda h: h.withdraw(BUYER, "USD", 5, tx_id="tx1"),
        "INVALID_CLIENT_REQUEST",
        "duplicate",
    ),
    "withdraw_beyond_available": (lambda h: h.withdraw(BUYER, "USD", 10**9), "INSUFFICIENT_FUNDS", ""),
    "withdraw_unknown_account": (lambda h: h.withdraw(4242, "USD", 1), "INSUFFICIENT_FUNDS", ""),
    "deposit_unknown_asset": (
        lambda h: h.deposit(BUYER, "DOGE", 5),
        "INVALID_CLIENT_REQUEST",
        "unknown asset",
    ),
    "withdraw_unknown_asset": (
        lambda h: h.withdraw(BUYER, "DOGE", 5),
        "INVALID_CLIENT_REQUEST",
        "unknown asset",
    ),
    "deposit_zero": (lambda h: h.deposit(BUYER, "USD", 0), "INVALID_QUANTITY", ""),
    "deposit_past_64_bits": (lambda h: h.deposit(BUYER, "USD", 2**63), "INVALID_QUANTITY", "at most"),
    "deposit_bringing_the_assets_total_past_64_bits": (
        lambda h: h.deposit(BUYER, "USD", 2**63 - 1),
        "INVALID_QUANTITY",
        "held on the exchange",
    ),
    "deposit_negative": (lambda h: h.deposit(BUYER, "USD", -5), "INVALID_QUANTITY", ""),
    "withdraw_zero": (lambda h: h.withdraw(BUYER, "USD", 0), "INVALID_QUANTITY", ""),
    "deposit_empty_tx_id": (
        lambda h: h.deposit(BUYER, "USD", 5, tx_id=""),
        "INVALID_CLIENT_REQUEST",
        "tx_id",
    ),
    # -- assets and markets
    "add_duplicate_asset": (
        lambda h: h.run(AddAsset, symbol="SOL", decimals=9),
        "INVALID_CLIENT_REQUEST",
        "exists",
    ),
    "add_asset_bad_decimals": (
        lambda h: h.run(AddAsset, symbol="X", decimals=-1),
        "INVALID_CLIENT_REQUEST",
        "",
    ),
    "add_asset_more_decimals_than_64_bits_hold_a_unit_of": (
        lambda h: h.run(AddAsset, symbol="X", decimals=19),
        "INVALID_CLIENT_REQUEST",
        "[0, 18]",
    ),
    "add_duplicate_market": (lambda h: _add_market(h, symbol=SYM), "INVALID_MARKET", "exists"),
    "add_market_max_quantity_past_64_bits": (
        lambda h: _add_market(h, max_quantity=2**63),
        "INVALID_MARKET",
        "at most",
    ),
    "add_market_unknown_asset": (lambda h: _add_market(h, base="DOGE"), "INVALID_MARKET", "unknown base"),
    "add_market_same_assets": (lambda h: _add_market(h, base="USD"), "INVALID_MARKET", "differ"),
    "add_market_fractional_base_per_lot": (
        lambda h: _add_market(h, step_size="0.1"),
        "INVALID_MARKET",
        "step",
    ),
    "add_market_fractional_quote_per_tick_lot": (
        lambda h: _add_market(h, tick_size="0.5", step_size="1"),
        "INVALID_MARKET",
        "tick",
    ),
    "add_market_bad_tick_string": (lambda h: _add_market(h, tick_size="1e-2"), "INVALID_MARKET", ""),
    "add_market_min_above_max_price": (lambda h: _add_market(h, min_price=11), "INVALID_MARKET", "min_price"),
    "add_market_zero_min_quantity": (lambda h: _add_market(h, min_quantity=0), "INVALID_MARKET", "quantity"),
    "add_market_negative_fee": (
        lambda h: _add_market(h, maker_fee_bps=-1),
        "INVALID_MARKET",
        "maker_fee_bps",
    ),
    "add_market_bad_state": (lambda h: _add_market(h, state="Paused"), "INVALID_MARKET", "state"),
    "update_unknown_market": (lambda h: h.run(UpdateMarket, symbol="NOPE"), "INVALID_MARKET", "unknown"),
    "update_market_bad_state": (lambda h: h.update(state="Halted"), "INVALID_MARKET", "state"),
    "update_market_min_above_max": (lambda h: h.update(min_quantity=1000), "INVALID_MARKET", "quantity"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_command_is_rejected_and_changes_nothing(case):
    make, code, message = CASES[case]
    h = _harness()
    if case in _TWO_STEP:
        # the case first changes the state (halts the market, ...), then issues the bad command
        _setup_events, bad_command = make(h)
        assert_rejected_and_unchanged(h.e, bad_command, code, message)
    else:
        assert_rejected_and_unchanged(h.e, lambda: make(h), code, message)


_TWO_STEP = {
    "insufficient_quote_for_buy",
    "halted_market",
    "cancel_only_market",
    "post_only_market_non_post_only_order",
    "cancel_in_halted_market",
    "insufficient_base_for_sell",
    "market_buy_insufficient_for_walk",
    "market_into_empty_side",
    "cancel_order_in_the_wrong_market",
}


def test_rejection_never_reveals_another_accounts_order():
    h = _harness()
    mine = assert_rejected_and_unchanged(h.e, lambda: h.cancel(BUYER, order_id=999), "RESOURCE_NOT_FOUND")
    theirs = assert_rejected_and_unchanged(h.e, lambda: h.cancel(BUYER, order_id=1), "RESOURCE_NOT_FOUND")
    assert mine.message == theirs.message


def test_rejected_order_does_not_consume_an_order_id():
    h = _harness()
    assert_rejected_and_unchanged(h.e, lambda: _place(h, price=0), "INVALID_PRICE")
    assert one(_place(h), OrderAccepted).order_id == 3


def test_rejected_event_carries_command_context():
    h = _harness()
    r = assert_rejected_and_unchanged(h.e, lambda: _place(h, price=0, client_id=44), "INVALID_PRICE")
    assert (r.command, r.account, r.market, r.client_id, r.ts) == ("PlaceOrder", BUYER, SYM, 44, h.ts)
