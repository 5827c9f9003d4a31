"""Writing event batches: what each event becomes in the database, and that writing is
idempotent on the event ids."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, connection

from history import persistence
from history.models import Candle, Fill, LedgerEntry, Order, Trade, Transfer

from .factory import BASE_PER_LOT, Events

T0 = 1_754_517_600_000  # 2025-08-06 22:00:00 UTC


def ledger_rows():
    return sorted(LedgerEntry.objects.values_list("seq", "account", "asset", "amount", "cause", "reference"))


def test_trade_event_writes_one_trade_row(sol_usdc, traders):
    ev = Events(first_seq=10).trade(7, T0 + 5, 14_050, 30, buyer=traders.buyer, seller=traders.seller)

    persistence.persist_events([ev])

    row = {
        "market_id": sol_usdc.pk,
        "trade_id": 7,
        "price": 14_050,
        "quantity": 30,
        "quote_quantity": 42_150_000,
        "buyer_order_id": 1007,
        "seller_order_id": 2007,
        "is_buyer_maker": False,
        "ts": T0 + 5,
        "seq": 10,
    }
    assert list(Trade.objects.values(*row)) == [row]


def test_trade_writes_ledger_entries_for_both_sides_their_fees_and_the_fee_account(sol_usdc, traders):
    b, s = traders.buyer, traders.seller
    ev = Events(first_seq=10).trade(7, T0, 14_000, 30, buyer=b, seller=s, buyer_fee=2100, seller_fee=840)

    persistence.persist_events([ev])

    base = 30 * BASE_PER_LOT
    ref = "SOL_USDC:7"
    assert ledger_rows() == sorted(
        [
            (10, b, "SOL", base, "trade", ref),
            (10, b, "USDC", -42_000_000, "trade", ref),
            (10, b, "USDC", -2100, "fee", ref),
            (10, s, "SOL", -base, "trade", ref),
            (10, s, "USDC", 42_000_000, "trade", ref),
            (10, s, "USDC", -840, "fee", ref),
            (10, 0, "USDC", 2940, "fee", ref),
        ]
    )


def test_trade_ledger_entries_sum_to_zero_per_asset(sol_usdc, traders):
    ev = Events().trade(
        1, T0, 14_000, 30, buyer=traders.buyer, seller=traders.seller, buyer_fee=2100, seller_fee=840
    )

    persistence.persist_events([ev])

    totals: dict[str, int] = {}
    for asset, amount in LedgerEntry.objects.values_list("asset", "amount"):
        totals[asset] = totals.get(asset, 0) + amount
    assert totals == {"SOL": 0, "USDC": 0}


def test_ledger_entries_are_keyed_by_seq_times_eight_plus_their_place_in_account_asset_cause_order(
    sol_usdc, traders
):
    b, s = sorted((traders.buyer, traders.seller))
    e = Events(first_seq=10)
    trade = e.trade(1, T0, 14_000, 30, buyer=b, seller=s, buyer_fee=2100, seller_fee=840)
    deposit = e.deposit(b, "USDC", 5, "tx-1")

    persistence.persist_events([trade, deposit])

    assert list(LedgerEntry.objects.order_by("id").values_list("id", "account", "asset", "cause")) == [
        (80, 0, "USDC", "fee"),
        (81, b, "SOL", "trade"),
        (82, b, "USDC", "fee"),
        (83, b, "USDC", "trade"),
        (84, s, "SOL", "trade"),
        (85, s, "USDC", "fee"),
        (86, s, "USDC", "trade"),
        (88, b, "USDC", "deposit"),
    ]


def test_trade_without_fees_writes_no_fee_entries(sol_usdc, traders):
    ev = Events().trade(1, T0, 14_000, 30, buyer=traders.buyer, seller=traders.seller)

    persistence.persist_events([ev])

    assert LedgerEntry.objects.filter(cause="fee").count() == 0
    assert LedgerEntry.objects.filter(cause="trade").count() == 4


def test_order_events_keep_the_state_of_the_highest_seq(sol_usdc, traders):
    e = Events(first_seq=100)
    accepted = e.order("OrderAccepted", 5, traders.buyer)
    filled = e.order(
        "OrderFilled",
        5,
        traders.buyer,
        executed_quantity=100,
        executed_quote_quantity=140_000_000,
        status="Filled",
    )

    persistence.persist_events([accepted, filled])

    assert list(Order.objects.values_list("order_id", "status", "executed_quantity", "last_seq")) == [
        (5, "Filled", 100, 101)
    ]


def test_an_older_order_event_arriving_late_does_not_overwrite_a_newer_one(sol_usdc, traders):
    e = Events(first_seq=100)
    accepted = e.order("OrderAccepted", 5, traders.buyer)
    cancelled = e.order("OrderCancelled", 5, traders.buyer, status="Cancelled")
    persistence.persist_events([cancelled])

    persistence.persist_events([accepted])

    assert list(Order.objects.values_list("status", "last_seq")) == [("Cancelled", 101)]


def test_order_row_carries_every_field_of_the_event(sol_usdc, traders):
    fields = {
        "side": "Ask",
        "time_in_force": "IOC",
        "post_only": True,
        "self_trade_prevention": "RejectBoth",
        "client_id": 42,
        "price": 15_000,
        "quantity": 7,
        "created_ts": T0,
        "fee_bps": 12,
        "trigger_price": 14_000,
        "priority": 11,
    }
    ev = Events(first_seq=3).order("OrderAccepted", 9, traders.seller, **fields)

    persistence.persist_events([ev])

    assert Order.objects.values().get() == {
        "order_id": 9,
        "user_id": traders.seller,
        "market_id": sol_usdc.pk,
        "order_type": "Limit",
        "quote_quantity": None,
        "executed_quantity": 0,
        "executed_quote_quantity": 0,
        "status": "New",
        "last_seq": 3,
        **fields,
    }


def test_order_filled_writes_a_fill(sol_usdc, traders):
    fields = {
        "ts": T0,
        "client_id": 3,
        "trade_id": 11,
        "fill_price": 14_010,
        "fill_quantity": 20,
        "fill_quote_quantity": 28_020_000,
        "fee": 14_010,
        "is_maker": True,
        "executed_quantity": 20,
        "executed_quote_quantity": 28_020_000,
        "status": "PartiallyFilled",
    }
    ev = Events(first_seq=50).order("OrderFilled", 5, traders.buyer, **fields)

    persistence.persist_events([ev])

    assert list(Fill.objects.values()) == [
        {
            "seq": 50,
            "user_id": traders.buyer,
            "market_id": sol_usdc.pk,
            "order_id": 5,
            "client_id": 3,
            "trade_id": 11,
            "side": "Bid",
            "price": 14_010,
            "quantity": 20,
            "quote_quantity": 28_020_000,
            "fee": 14_010,
            "fee_asset": "USDC",
            "is_maker": True,
            "ts": T0,
        }
    ]


def test_deposit_and_withdrawal_write_transfers_and_ledger_entries(sol_usdc, traders):
    e = Events(first_seq=20)
    batch = [
        e.deposit(traders.buyer, "USDC", 5_000_000, "tx-in", ts=T0),
        e.withdrawal(traders.buyer, "USDC", 1_000, "tx-out", ts=T0 + 1),
    ]

    persistence.persist_events(batch)

    assert sorted(
        Transfer.objects.values_list("tx_id", "kind", "user_id", "account", "asset", "amount", "seq", "ts")
    ) == [
        ("tx-in", "deposit", traders.buyer, traders.buyer, "USDC", 5_000_000, 20, T0),
        ("tx-out", "withdrawal", traders.buyer, traders.buyer, "USDC", 1_000, 21, T0 + 1),
    ]
    assert ledger_rows() == [
        (20, traders.buyer, "USDC", 5_000_000, "deposit", "tx-in"),
        (21, traders.buyer, "USDC", -1_000, "withdrawal", "tx-out"),
    ]


def test_a_fee_account_withdrawal_is_stored_without_a_user(sol_usdc):
    persistence.persist_events([Events(first_seq=4).withdrawal(0, "USDC", 2940, "fees-out")])

    assert list(Transfer.objects.values_list("user_id", "account", "amount")) == [(None, 0, 2940)]
    assert ledger_rows() == [(4, 0, "USDC", -2940, "withdrawal", "fees-out")]


def test_events_that_are_not_history_are_ignored(sol_usdc, traders):
    e = Events()
    rejected = {
        "type": "Rejected",
        "seq": e.seq(),
        "ts": T0,
        "command": "PlaceOrder",
        "account": traders.buyer,
        "market": "SOL_USDC",
        "client_id": None,
        "code": "INSUFFICIENT_FUNDS",
        "message": "no",
    }
    asset = {"type": "AssetAdded", "seq": e.seq(), "ts": T0, "symbol": "ETH", "decimals": 8}

    result = persistence.persist_events([e.depth(), e.balance(traders.buyer), rejected, asset])

    assert (result.orders, result.fills, result.trades, result.ledger, result.transfers) == (0, 0, 0, 0, 0)
    assert LedgerEntry.objects.count() == Order.objects.count() == Trade.objects.count() == 0


def test_the_same_batch_twice_changes_nothing(sol_usdc, traders):
    e = Events()
    b, s = traders.buyer, traders.seller
    batch = [
        e.order("OrderAccepted", 1, s, side="Ask"),
        e.order("OrderAccepted", 2, b),
        e.trade(1, T0, 14_000, 100, buyer=b, seller=s, buyer_fee=7000, seller_fee=2800),
        e.order("OrderFilled", 1, s, side="Ask", status="Filled", executed_quantity=100, is_maker=True),
        e.order("OrderFilled", 2, b, status="Filled", executed_quantity=100),
        e.deposit(b, "USDC", 10, "tx-1"),
    ]
    persistence.persist_events(batch)
    snapshot = (
        ledger_rows(),
        list(Candle.objects.order_by("interval").values()),
        list(Order.objects.values()),
    )

    second = persistence.persist_events(batch)

    assert (second.fills, second.trades, second.ledger, second.transfers, second.candles) == (0, 0, 0, 0, [])
    assert (
        ledger_rows(),
        list(Candle.objects.order_by("interval").values()),
        list(Order.objects.values()),
    ) == snapshot
    assert (Trade.objects.count(), Fill.objects.count(), Transfer.objects.count()) == (1, 2, 1)


def test_a_batch_naming_an_unknown_market_raises_and_writes_nothing(sol_usdc, traders):
    e = Events()
    batch = [e.deposit(traders.buyer, "USDC", 10, "tx-1"), e.trade(1, T0, 1, 1, market="BTC_USDC")]

    with pytest.raises(persistence.UnknownMarket):
        persistence.persist_events(batch)

    assert Transfer.objects.count() == LedgerEntry.objects.count() == 0


def test_unknown_market_is_retryable():
    assert persistence.is_retryable(persistence.UnknownMarket("x"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_a_copy_that_cannot_get_its_lock_fails_retryably_as_djangos_error(sol_usdc, traders):
    e = Events()
    batch = [
        e.order("OrderAccepted", 2, traders.buyer),
        e.trade(1, T0, 14_000, 100, buyer=traders.buyer, seller=traders.seller),
        e.order("OrderFilled", 2, traders.buyer, status="Filled", executed_quantity=100),
    ]
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
    )
    try:
        other.execute("LOCK TABLE accounts_fill IN ACCESS EXCLUSIVE MODE")  # held: no commit
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = '100ms'")
        with pytest.raises(OperationalError) as raised:
            persistence.persist_events(batch)
    finally:
        other.close()
        with connection.cursor() as cur:
            cur.execute("RESET lock_timeout")

    assert persistence.is_retryable(raised.value)
    assert not Fill.objects.exists()


def test_order_and_fill_of_an_account_without_user_are_skipped_but_its_ledger_is_kept(sol_usdc, traders):
    e = Events(first_seq=1)
    ghost = traders.seller + 1000
    batch = [
        e.order("OrderAccepted", 1, ghost),
        e.trade(1, T0, 14_000, 1, buyer=ghost, seller=traders.seller),
    ]

    result = persistence.persist_events(batch)

    assert result.skipped_rows == 1
    assert Order.objects.count() == 0
    assert LedgerEntry.objects.filter(account=ghost).count() == 2
    assert Trade.objects.count() == 1


def test_trades_of_a_batch_update_every_interval_once(sol_usdc, traders):
    e = Events()
    batch = [
        e.trade(1, T0 + 1_000, 14_000, 10, buyer=traders.buyer, seller=traders.seller),
        e.trade(2, T0 + 2_000, 14_500, 5, buyer=traders.buyer, seller=traders.seller),
        e.trade(3, T0 + 3_000, 13_900, 1, buyer=traders.buyer, seller=traders.seller),
    ]

    persistence.persist_events(batch)

    every_interval = "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1month".split()
    expected = {
        "open": 14_000,
        "high": 14_500,
        "low": 13_900,
        "close": 13_900,
        "volume": 16,
        "quote_volume": (14_000 * 10 + 14_500 * 5 + 13_900) * 100,
        "trades": 3,
        "first_trade_id": 1,
        "last_trade_id": 3,
    }
    rows = {c.pop("interval"): c for c in Candle.objects.values("interval", *expected)}
    assert rows == dict.fromkeys(every_interval, expected)


def test_out_of_order_batches_give_open_of_the_first_trade_and_close_of_the_last(sol_usdc, traders):
    e = Events()
    t1 = e.trade(1, T0 + 1_000, 14_000, 1, buyer=traders.buyer, seller=traders.seller)
    t2 = e.trade(2, T0 + 2_000, 15_000, 1, buyer=traders.buyer, seller=traders.seller)
    t3 = e.trade(3, T0 + 3_000, 16_000, 1, buyer=traders.buyer, seller=traders.seller)

    persistence.persist_events([t2])
    persistence.persist_events([t3])
    persistence.persist_events([t1])

    c = Candle.objects.get(interval="1m")
    assert (c.open, c.high, c.low, c.close, c.trades, c.volume) == (14_000, 16_000, 14_000, 16_000, 3, 3)


def test_batch_result_lists_the_candles_as_they_stand_after_the_batch(sol_usdc, traders):
    e = Events()
    persistence.persist_events([e.trade(1, T0, 14_000, 2, buyer=traders.buyer, seller=traders.seller)])

    result = persistence.persist_events(
        [e.trade(2, T0 + 10, 14_100, 3, buyer=traders.buyer, seller=traders.seller)]
    )

    one_minute = [r for r in result.candles if r[1] == "1m"]
    assert one_minute == [
        (sol_usdc.pk, "1m", T0, 14_000, 14_100, 14_000, 14_100, 5, 14_000 * 200 + 14_100 * 300, 2, 1, 2)
    ]


def test_an_event_repeated_within_one_batch_counts_once(sol_usdc, traders):
    e = Events()
    trade = e.trade(1, T0, 14_000, 30, buyer=traders.buyer, seller=traders.seller, buyer_fee=2100)
    deposit = e.deposit(traders.buyer, "USDC", 5, "tx-1")

    persistence.persist_events([trade, deposit, trade, deposit])

    assert LedgerEntry.objects.get(account=0).amount == 2100
    assert LedgerEntry.objects.get(cause="deposit").amount == 5
    assert Candle.objects.get(interval="1m").trades == 1
