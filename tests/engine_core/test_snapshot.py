"""Snapshots: round trip, continuing after restore, and damaged snapshots."""

from __future__ import annotations

import pytest

from engine.core import ASK, BID, Engine, SnapshotError

from .helpers import BUYER, OTHER, SELLER, Harness


def _busy_harness() -> Harness:
    h = Harness()
    h.sell(SELLER, 101, 3, client_id=7)
    h.sell(OTHER, 101, 2)
    h.sell(SELLER, 103, 4)
    h.buy(BUYER, 99, 5, client_id=8)
    h.buy(OTHER, 98, 1)
    h.buy(BUYER, 101, 1)  # partial fill of order 1
    h.cancel(OTHER, order_id=2)
    return h


def _tail(h: Harness):
    return [
        h.buy(BUYER, 103, 6),
        h.sell(SELLER, 97, 4),
        h.cancel(SELLER, client_id=7),
        h.cancel(BUYER, client_id=8),
        h.sell(SELLER, 100, 1, client_id=7),
        h.market(OTHER, BID, quote_quantity=500),
        h.deposit(BUYER, "USD", 5, tx_id="tx1"),  # duplicate: rejected identically
        h.market(BUYER, ASK, quantity=1),
    ]


def test_snapshot_round_trip_preserves_the_state_exactly():
    h = _busy_harness()
    data = h.e.snapshot()
    e2 = Engine.restore(data)
    assert e2.state_digest() == h.e.state_digest()
    assert e2.snapshot() == data
    assert e2.depth("SOL_USD") == h.e.depth("SOL_USD")
    assert e2.balances(SELLER) == h.e.balances(SELLER)
    assert [o.view() for o in e2.open_orders(BUYER)] == [o.view() for o in h.e.open_orders(BUYER)]
    assert e2.last_seq == h.e.last_seq


def test_restoring_and_continuing_gives_the_same_events_as_never_stopping():
    h = _busy_harness()
    h2 = Harness()
    h2.e = Engine.restore(h.e.snapshot())
    h2.ts, h2._tx, h2.net = h.ts, h._tx, dict(h.net)
    assert _tail(h2) == _tail(h)
    assert h2.e.state_digest() == h.e.state_digest()


def test_extra_value_round_trips():
    h = _busy_harness()
    e2 = Engine.restore(h.e.snapshot(extra="1700000000000-5"))
    assert e2.snapshot_extra == "1700000000000-5"


def test_digest_ignores_cancelled_entries_parked_in_levels():
    a = Harness()
    b = Harness()
    for h in (a, b):
        h.sell(SELLER, 100, 1)
    a.sell(OTHER, 100, 1)  # order 2 in a, cancelled lazily from the middle...
    a.sell(SELLER, 100, 1)
    a.cancel(OTHER, order_id=2)
    b.sell(OTHER, 100, 1)
    b.sell(SELLER, 100, 1)
    b.cancel(OTHER, order_id=2)
    assert a.e.state_digest() == b.e.state_digest()


def test_truncated_snapshot_raises_snapshot_error():
    data = _busy_harness().e.snapshot()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(SnapshotError):
            Engine.restore(data[:cut])


def test_corrupted_snapshot_raises_snapshot_error():
    data = bytearray(_busy_harness().e.snapshot())
    data[-5] ^= 0xFF
    with pytest.raises(SnapshotError, match="checksum"):
        Engine.restore(bytes(data))


def test_bad_magic_and_version_raise_snapshot_error():
    data = _busy_harness().e.snapshot()
    with pytest.raises(SnapshotError, match="magic"):
        Engine.restore(b"NOTASNAP" + data[8:])
    with pytest.raises(SnapshotError, match="version"):
        Engine.restore(data[:8] + b"\x00\x63" + data[10:])
    with pytest.raises(SnapshotError):
        Engine.restore("not bytes")  # type: ignore[arg-type]


def test_restored_engine_compares_strings_by_value_not_identity():
    """Restored orders must use the engine's own constants (the hot path compares by identity)."""
    h = _busy_harness()
    e2 = Engine.restore(h.e.snapshot())
    for o in e2.all_open_orders():
        assert o.side is (BID if o.side == BID else ASK)
