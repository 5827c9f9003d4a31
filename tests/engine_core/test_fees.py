"""Scenario tests: fees (quote asset, rounded down, to the fee account) and locks."""

from __future__ import annotations

from engine.core import FEE_ACCOUNT, IOC, OrderFilled, Trade, UpdateMarket

from .helpers import BUYER, SELLER, START_SOL, START_USD, Harness, market_args, of, one


def test_fees_are_rounded_down_for_both_sides():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.sell(SELLER, 1999, 1)  # maker
    t = one(h.buy(BUYER, 1999, 1), Trade)  # taker
    # 1999 * 10 / 10000 = 1.999 -> 1 ; 1999 * 20 / 10000 = 3.998 -> 3
    assert (t.quote_quantity, t.seller_fee, t.buyer_fee, t.fee_asset) == (1999, 1, 3, "USD")
    h.check()


def test_buyer_pays_notional_plus_fee_seller_receives_notional_minus_fee_fee_account_gets_both():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.sell(SELLER, 1999, 1)
    h.buy(BUYER, 1999, 1)
    assert h.bal(BUYER, "USD") == (START_USD - 1999 - 3, 0)
    assert h.bal(BUYER, "SOL") == (START_SOL + 1, 0)
    assert h.bal(SELLER, "USD") == (START_USD + 1999 - 1, 0)
    assert h.bal(SELLER, "SOL") == (START_SOL - 1, 0)
    assert h.bal(FEE_ACCOUNT, "USD") == (4, 0)
    assert h.e.balances(FEE_ACCOUNT) == {"USD": (4, 0)}
    h.check()


def test_maker_rate_for_the_resting_order_taker_rate_for_the_incoming():
    h = Harness(maker_fee_bps=50, taker_fee_bps=100)
    h.buy(BUYER, 100, 10)  # maker: buyer
    ev = h.sell(SELLER, 100, 10)  # taker: seller
    t = one(ev, Trade)
    assert (t.is_buyer_maker, t.buyer_fee, t.seller_fee) == (True, 5, 10)
    fills = {f.is_maker: f.fee for f in of(ev, OrderFilled)}
    assert fills == {True: 5, False: 10}
    h.check()


def test_fee_per_fill_is_rounded_separately_and_never_exceeds_the_lock():
    # 3 fills of 1 lot at 1999: each fee floor(1999 * 20 / 10000) = 3; lock fee was
    # floor(5997 * 20 / 10000) = 11 >= 9: floor is superadditive.
    h = Harness(maker_fee_bps=0, taker_fee_bps=20)
    for _ in range(3):
        h.sell(SELLER, 1999, 1)
    ev = h.buy(BUYER, 1999, 3)
    assert [t.buyer_fee for t in of(ev, Trade)] == [3, 3, 3]
    assert h.bal(BUYER, "USD") == (START_USD - 5997 - 9, 0)
    h.check()


def test_buy_lock_uses_the_higher_of_maker_and_taker_fee():
    h = Harness(maker_fee_bps=30, taker_fee_bps=10)
    h.buy(BUYER, 100, 10)
    assert h.bal(BUYER, "USD") == (START_USD - 1003, 1003)  # 1000 + floor(1000 * 30 / 10000)
    h.check()


def test_price_improvement_is_unlocked_when_the_buy_fills_below_its_limit():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.sell(SELLER, 100, 10)
    h.buy(BUYER, 110, 10)  # locks 1100 + 2 = 1102, pays 1000 + 2
    assert h.bal(BUYER, "USD") == (START_USD - 1002, 0)
    h.check()


def test_price_improvement_is_unlocked_when_the_buy_partly_fills_and_rests():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.sell(SELLER, 100, 4)
    h.buy(BUYER, 110, 10)
    # paid 400 + floor(400 * 20 / 10000) = 0; reserve for 6 @ 110 = 660 + 1 = 661
    assert h.bal(BUYER, "USD") == (START_USD - 400 - 661, 661)
    assert h.depth() == ([(110, 6)], [])
    h.check()


def test_buy_maker_filled_below_its_fee_cap_gets_the_rounding_back():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.buy(BUYER, 100, 10)  # reserve 1002 (20 bps)
    h.sell(SELLER, 100, 10)  # buyer is maker: 1000 + floor(1000 * 10 / 10000) = 1
    assert h.bal(BUYER, "USD") == (START_USD - 1001, 0)
    h.check()


def test_fee_increase_does_not_break_an_existing_orders_reserve():
    h = Harness(maker_fee_bps=10, taker_fee_bps=20)
    h.buy(BUYER, 100, 10)  # reserve computed at 20 bps: 1002
    h.ok(UpdateMarket, symbol="SOL_USD", maker_fee_bps=500, taker_fee_bps=500)
    t = one(h.sell(SELLER, 100, 10), Trade)
    # the resting buy pays at most the 20 bps it reserved for; the new taker pays 500 bps
    assert (t.buyer_fee, t.seller_fee) == (2, 50)
    assert h.bal(BUYER, "USD") == (START_USD - 1002, 0)
    h.check()


def test_zero_fees_credit_nothing_to_the_fee_account():
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(SELLER, 100, 1)
    h.buy(BUYER, 100, 1, time_in_force=IOC)
    assert h.e.balances(FEE_ACCOUNT) == {}
    h.check()


def test_realistic_units_sol_usdc():
    """SOL with 9 decimals, USDC with 6, tick 0.01, step 0.01: 1 lot = 10**7 SOL units and one
    lot at one tick = 0.0001 USDC = 100 units."""
    from engine.core import AddAsset, AddMarket, Deposit, Engine, PlaceOrder, units

    e = Engine()
    e.apply(AddAsset(ts=1, symbol="SOL", decimals=9))
    e.apply(AddAsset(ts=1, symbol="USDC", decimals=6))
    market = market_args(symbol="SOL_USDC", quote="USDC", tick_size="0.01", step_size="0.01")
    ev = e.apply(AddMarket(ts=1, **market))
    assert ev[0].state == "Open"
    m = e.markets["SOL_USDC"]
    assert (m.base_per_lot, m.quote_per_tick_lot) == (10**7, 100)
    e.apply(Deposit(ts=2, account=1, asset="SOL", amount=units.to_units("2", 9), tx_id="a"))
    e.apply(Deposit(ts=2, account=2, asset="USDC", amount=units.to_units("1000", 6), tx_id="b"))
    price = units.to_ticks("140.55", "0.01")
    qty = units.to_lots("1.5", "0.01")
    e.apply(
        PlaceOrder(
            ts=3, account=1, market="SOL_USDC", side="Ask", order_type="Limit", price=price, quantity=qty
        )
    )
    ev = e.apply(
        PlaceOrder(
            ts=4, account=2, market="SOL_USDC", side="Bid", order_type="Limit", price=price, quantity=qty
        )
    )
    t = one(ev, Trade)
    assert units.from_units(t.quote_quantity, 6) == "210.825"  # 140.55 * 1.5
    assert units.from_units(t.buyer_fee, 6) == "0.42165"  # 20 bps
    assert units.from_units(t.seller_fee, 6) == "0.210825"  # 10 bps
    assert e.balance(2, "SOL") == (units.to_units("1.5", 9), 0)
    paid = units.to_units("210.825", 6) + units.to_units("0.42165", 6)
    assert e.balance(2, "USDC") == (units.to_units("1000", 6) - paid, 0)


def test_sell_maker_pays_the_maker_rate_even_when_it_is_above_the_taker_rate():
    h = Harness(maker_fee_bps=50, taker_fee_bps=5)
    h.sell(SELLER, 100, 10)  # maker
    t = one(h.buy(BUYER, 100, 10), Trade)
    assert (t.seller_fee, t.buyer_fee) == (5, 0)  # 1000 * 50 / 10000 ; 1000 * 5 / 10000 = 0.5 -> 0
    assert h.bal(SELLER, "USD") == (START_USD + 995, 0)
    h.check()
