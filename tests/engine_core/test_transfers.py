"""Scenario tests: deposits and withdrawals with tx_id idempotency."""

from __future__ import annotations

from engine.core import BalanceChanged, Deposit, Deposited, Engine, Rejected, Withdrawn

from .helpers import START_USD, Harness, one, types


def test_deposit_credits_available_and_emits_events():
    h = Harness(fund=False)
    ev = h.deposit(7, "USD", 500, tx_id="d1")
    assert types(ev) == ["Deposited", "BalanceChanged"]
    d = one(ev, Deposited)
    assert (d.account, d.asset, d.amount, d.tx_id) == (7, "USD", 500, "d1")
    b = one(ev, BalanceChanged)
    assert (b.account, b.asset, b.available, b.locked) == (7, "USD", 500, 0)
    assert h.e.balances(7) == {"USD": (500, 0)}


def test_repeated_deposit_tx_id_is_rejected_and_changes_nothing():
    h = Harness(fund=False)
    h.deposit(7, "USD", 500, tx_id="d1")
    digest = h.e.state_digest()
    r = one(h.deposit(7, "USD", 500, tx_id="d1"), Rejected)
    assert r.code == "INVALID_CLIENT_REQUEST" and "duplicate" in r.message
    assert h.e.balance(7, "USD") == (500, 0)
    h.e._seq -= 1
    assert h.e.state_digest() == digest


def test_withdraw_debits_available():
    h = Harness(fund=False)
    h.deposit(7, "USD", 500)
    ev = h.withdraw(7, "USD", 200, tx_id="w1")
    assert types(ev) == ["Withdrawn", "BalanceChanged"]
    assert one(ev, Withdrawn).amount == 200
    assert h.e.balance(7, "USD") == (300, 0)
    h.check()


def test_repeated_withdraw_tx_id_is_rejected():
    h = Harness(fund=False)
    h.deposit(7, "USD", 500)
    h.withdraw(7, "USD", 100, tx_id="w1")
    r = one(h.withdraw(7, "USD", 100, tx_id="w1"), Rejected)
    assert r.code == "INVALID_CLIENT_REQUEST" and "duplicate" in r.message
    assert h.e.balance(7, "USD") == (400, 0)


def test_withdraw_beyond_available_is_rejected_even_when_locked_would_cover_it():
    h = Harness(fund=False)
    h.deposit(7, "USD", 1000)
    h.buy(7, 100, 5)  # locks 500 + 1
    r = one(h.withdraw(7, "USD", 500), Rejected)
    assert r.code == "INSUFFICIENT_FUNDS"
    assert h.e.balance(7, "USD") == (499, 501)


def test_rejected_withdrawal_does_not_consume_its_tx_id():
    h = Harness(fund=False)
    h.deposit(7, "USD", 10)
    assert one(h.withdraw(7, "USD", 11, tx_id="w"), Rejected).code == "INSUFFICIENT_FUNDS"
    h.deposit(7, "USD", 1)
    assert one(h.withdraw(7, "USD", 11, tx_id="w"), Withdrawn).amount == 11


def test_fee_account_can_withdraw_collected_fees():
    h = Harness(maker_fee_bps=100, taker_fee_bps=100)
    h.sell(1, 100, 10)
    h.buy(2, 100, 10)
    assert h.e.balance(0, "USD") == (20, 0)
    one(h.withdraw(0, "USD", 20), Withdrawn)
    h.check()


def test_the_assets_total_on_the_exchange_may_reach_64_bits_and_a_withdrawal_makes_room():
    h = Harness(fund=False)
    h.deposit(7, "USD", 2**63 - 11)
    assert one(h.deposit(8, "USD", 11), Rejected).code == "INVALID_QUANTITY"

    assert one(h.deposit(8, "USD", 10), Deposited).amount == 10
    h.withdraw(7, "USD", 5)
    assert one(h.deposit(8, "USD", 5), Deposited).amount == 5
    assert h.e.balance(8, "USD") == (15, 0)


def test_a_restored_engine_counts_the_assets_total_again():
    h = Harness()  # three funded accounts
    h.deposit(7, "USD", 2**63 - 1 - 3 * START_USD - 1)

    restored = Engine.restore(h.e.snapshot())

    deposit = Deposit(ts=h.ts + 1, account=9, asset="USD", amount=2, tx_id="over")
    assert one(restored.apply(deposit), Rejected).code == "INVALID_QUANTITY"
    deposit = Deposit(ts=h.ts + 2, account=9, asset="USD", amount=1, tx_id="fits")
    assert one(restored.apply(deposit), Deposited).amount == 1
