"""The persistence batch on the wire (``contract.persist_batch``): packed by event type, only what
persistence writes, read back by field name."""

from __future__ import annotations

from contract import persist_batch
from contract.jsonfast import dumps, loads
from history import persistence
from history.models import Fill, LedgerEntry, Order, Trade

from .factory import Events

T0 = 1_754_517_600_000


def test_pack_keeps_only_persisted_event_types_as_rows_without_keys():
    e = Events(first_seq=1)
    trade = e.trade(1, T0, 14_000, 2)
    packed = persist_batch.pack([e.depth(), trade, e.balance()])

    assert packed["v"] == 2
    assert list(packed["rows"]) == ["Trade"]
    assert packed["rows"]["Trade"] == [tuple(trade[name] for name in packed["fields"]["Trade"])]


def test_rows_of_reads_by_the_names_the_batch_carries_whatever_their_order():
    e = Events(first_seq=5)
    packed = loads(dumps(persist_batch.pack([e.deposit(3, "USDC", 700, "tx-1")])))
    names = packed["fields"]["Deposited"]
    order = list(reversed(range(len(names))))
    packed["fields"]["Deposited"] = [names[i] for i in order]
    packed["rows"]["Deposited"] = [[row[i] for i in order] for row in packed["rows"]["Deposited"]]

    assert list(persist_batch.rows_of(packed, "Deposited", ("seq", "account", "amount", "tx_id"))) == [
        (5, 3, 700, "tx-1")
    ]


def test_a_packed_batch_after_json_writes_the_same_rows_as_the_event_dicts(sol_usdc, traders):
    e = Events(first_seq=10)
    batch = [
        e.order("OrderAccepted", 500, traders.buyer),
        e.trade(1, T0, 14_000, 2, buyer=traders.buyer, seller=traders.seller, buyer_fee=3, seller_fee=4),
        e.order("OrderFilled", 500, traders.buyer, executed_quantity=2, status="PartiallyFilled"),
        e.deposit(traders.seller, "USDC", 1_000, "tx-9"),
    ]

    persistence.persist_events(batch)
    from_dicts = (
        sorted(Trade.objects.values_list("trade_id", "seq")),
        sorted(Fill.objects.values_list("seq", "order_id", "quantity")),
        sorted(Order.objects.values_list("order_id", "status", "last_seq")),
        sorted(LedgerEntry.objects.values_list("seq", "account", "asset", "cause", "amount")),
    )
    for model in (Trade, Fill, Order, LedgerEntry):
        model.objects.all().delete()
    persistence.persist_events(loads(dumps(persist_batch.pack(batch))))

    assert (
        sorted(Trade.objects.values_list("trade_id", "seq")),
        sorted(Fill.objects.values_list("seq", "order_id", "quantity")),
        sorted(Order.objects.values_list("order_id", "status", "last_seq")),
        sorted(LedgerEntry.objects.values_list("seq", "account", "asset", "cause", "amount")),
    ) == from_dicts
    assert from_dicts[0] == [(1, 11)]
    assert from_dicts[2] == [(500, "PartiallyFilled", 12)]
    assert len(from_dicts[3]) == 7 + 1  # seven rows of a trade with both fees, one deposit
