"""Event stream: order, seq, trade ids, depth update ids, balance events, ids and client ids."""

from __future__ import annotations

from engine.core import (
    ASK,
    BID,
    CANCELLED,
    FILLED,
    AddMarket,
    BalanceChanged,
    DepthChanged,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    Rejected,
    Trade,
)

from .helpers import BUYER, OTHER, SELLER, SYM, EventChecker, Harness, market_args, of, one, types


def test_events_of_a_crossing_order_come_in_the_documented_order():
    h = Harness()
    h.sell(SELLER, 100, 10)
    h.sell(OTHER, 101, 10)
    ev = h.buy(BUYER, 102, 25)
    assert types(ev) == [
        "OrderAccepted",
        "Trade",
        "OrderFilled",  # maker
        "OrderFilled",  # taker
        "Trade",
        "OrderFilled",
        "OrderFilled",
        "DepthChanged",  # ask 100 -> 0
        "DepthChanged",  # ask 101 -> 0
        "DepthChanged",  # bid 102 -> 5 (the rest)
        "BalanceChanged",  # (0, USD)
        "BalanceChanged",  # (1, SOL)
        "BalanceChanged",  # (1, USD)
        "BalanceChanged",  # (2, SOL)
        "BalanceChanged",  # (2, USD)
        "BalanceChanged",  # (3, SOL)
        "BalanceChanged",  # (3, USD)
    ]
    fills = of(ev, OrderFilled)
    assert [f.is_maker for f in fills] == [True, False, True, False]
    assert [(d.side, d.price, d.quantity) for d in of(ev, DepthChanged)] == [
        (ASK, 100, 0),
        (ASK, 101, 0),
        (BID, 102, 5),
    ]
    assert [(b.account, b.asset) for b in of(ev, BalanceChanged)] == [
        (0, "USD"),
        (1, "SOL"),
        (1, "USD"),
        (2, "SOL"),
        (2, "USD"),
        (3, "SOL"),
        (3, "USD"),
    ]


def test_seq_increases_by_one_per_event_across_commands_and_rejections():
    h = Harness()
    checker = EventChecker(h.e)
    for command in (
        lambda: h.sell(SELLER, 100, 1),
        lambda: h.buy(BUYER, 0, 1),  # rejected
        lambda: h.buy(BUYER, 100, 2),
        lambda: h.cancel(BUYER, order_id=2),
        lambda: h.cancel(BUYER, order_id=2),  # rejected
    ):
        checker.feed(h.e, command())
    assert h.e.last_seq == checker.seq


def test_trade_ids_are_sequential_per_market_from_one():
    h = Harness()
    h.ok(AddMarket, **market_args(symbol="ETH_USD", maker_fee_bps=0, taker_fee_bps=0))
    h.sell(SELLER, 100, 2)
    h.sell(SELLER, 100, 1, market="ETH_USD")
    ids = [t.trade_id for t in of(h.buy(BUYER, 100, 1), Trade)]
    ids += [t.trade_id for t in of(h.buy(BUYER, 100, 1, market="ETH_USD"), Trade)]
    ids += [t.trade_id for t in of(h.buy(BUYER, 100, 1), Trade)]
    assert ids == [1, 1, 2]


def test_depth_update_ids_increase_by_one_per_emitted_change():
    h = Harness()
    assert [d.update_id for d in of(h.sell(SELLER, 100, 1), DepthChanged)] == [1]
    assert [d.update_id for d in of(h.sell(SELLER, 101, 1), DepthChanged)] == [2]
    assert [d.update_id for d in of(h.buy(BUYER, 101, 3), DepthChanged)] == [3, 4, 5]
    assert h.e.depth(SYM)[2] == 5


def test_one_depth_change_per_level_per_command_with_the_final_quantity():
    h = Harness()
    for _ in range(3):
        h.sell(SELLER, 100, 1)
    d = one(h.buy(BUYER, 100, 2), DepthChanged)
    assert (d.side, d.price, d.quantity) == (ASK, 100, 1)


def test_depth_snapshot_lists_bids_descending_and_asks_ascending_with_limit():
    h = Harness()
    for p in (97, 99, 98):
        h.buy(BUYER, p, 1)
    for p in (103, 101, 102):
        h.sell(SELLER, p, 2)
    bids, asks, uid = h.e.depth(SYM)
    assert bids == [(99, 1), (98, 1), (97, 1)]
    assert asks == [(101, 2), (102, 2), (103, 2)]
    assert uid == 6
    bids, asks, _ = h.e.depth(SYM, 2)
    assert (bids, asks) == ([(99, 1), (98, 1)], [(101, 2), (102, 2)])


def test_order_ids_are_global_and_advance_only_for_accepted_orders():
    h = Harness()
    assert one(h.sell(SELLER, 100, 1), OrderAccepted).order_id == 1
    one(h.sell(SELLER, 0, 1), Rejected)
    one(h.cancel(SELLER, order_id=5), Rejected)
    assert one(h.buy(BUYER, 90, 1), OrderAccepted).order_id == 2
    assert h.e.last_order_id == 2


def test_client_id_is_reusable_after_the_order_closes():
    h = Harness()
    h.sell(SELLER, 100, 1, client_id=1)
    assert one(h.sell(SELLER, 101, 1, client_id=1), Rejected).code == "INVALID_ORDER"
    h.buy(BUYER, 100, 1)  # fills order 1
    assert one(h.sell(SELLER, 101, 1, client_id=1), OrderAccepted).client_id == 1
    h.cancel(SELLER, client_id=1)
    assert one(h.sell(SELLER, 102, 1, client_id=1), OrderAccepted).order_id == 4


def test_client_ids_are_per_account():
    h = Harness()
    h.sell(SELLER, 100, 1, client_id=1)
    assert one(h.buy(BUYER, 90, 1, client_id=1), OrderAccepted).client_id == 1


def test_cancel_all_emits_one_cancel_per_open_order_of_that_market():
    h = Harness()
    h.sell(SELLER, 100, 1)
    h.sell(SELLER, 101, 1)
    h.sell(SELLER, 101, 2)
    h.sell(OTHER, 101, 1)
    ev = h.cancel_all(SELLER)
    assert [(c.order_id, c.status) for c in of(ev, OrderCancelled)] == [
        (1, CANCELLED),
        (2, CANCELLED),
        (3, CANCELLED),
    ]
    assert [(d.price, d.quantity) for d in of(ev, DepthChanged)] == [(100, 0), (101, 1)]
    assert [(b.account, b.asset, b.locked) for b in of(ev, BalanceChanged)] == [(SELLER, "SOL", 0)]
    assert h.depth() == ([], [(101, 1)])
    h.check()


def test_cancel_all_with_no_open_orders_is_not_a_rejection():
    h = Harness()
    assert h.cancel_all(SELLER) == []
    assert h.cancel_all(999) == []


def test_filled_event_carries_the_whole_order_after_the_fill():
    h = Harness(maker_fee_bps=0, taker_fee_bps=0)
    h.sell(SELLER, 100, 5, client_id=3)
    ev = h.buy(BUYER, 100, 5)
    maker, taker = of(ev, OrderFilled)
    assert (maker.order_id, maker.client_id, maker.status, maker.executed_quantity, maker.created_ts) == (
        1,
        3,
        FILLED,
        5,
        h.ts - 1,
    )
    assert (taker.fill_price, taker.fill_quantity, taker.fill_quote_quantity, taker.trade_id) == (
        100,
        5,
        500,
        1,
    )
    assert all(e.ts == h.ts for e in ev)


def test_generated_event_constructors_build_the_same_objects_as_the_dataclasses():
    import dataclasses

    from engine.core import emit

    h = Harness()
    h.sell(SELLER, 100, 2, client_id=4)
    h.buy(BUYER, 101, 3)
    events = h.cancel_all(BUYER) + h.buy(BUYER, 100, 1)
    events += h.sell(SELLER, 99, 5)
    for ev in events:
        rebuilt = type(ev)(**{f.name: getattr(ev, f.name) for f in dataclasses.fields(ev)})
        assert rebuilt == ev
        assert repr(rebuilt) == repr(ev)
    o = h.e.open_orders(SELLER)[0]
    assert emit.ev_cancelled(1, 2, o, "user") == OrderCancelled(seq=1, ts=2, **o.view(), reason="user")
    assert emit.mk_depth(1, 2, SYM, ASK, 5, 6, 7) == DepthChanged(
        seq=1, ts=2, market=SYM, side=ASK, price=5, quantity=6, update_id=7
    )


def test_order_with_unhashable_field_is_rejected_not_raised():
    from engine.core import PlaceOrder

    h = Harness()
    r = one(
        h.run(PlaceOrder, account=BUYER, market=SYM, side=["Bid"], order_type="Limit", price=1, quantity=1),
        Rejected,
    )
    assert r.code == "INVALID_ORDER"


def test_event_constructors_take_exactly_the_fields_keyword_only():
    """``events`` writes the hot-path events' ``__init__`` out (so that mypyc compiles it): each
    must be the one ``dataclass`` would generate, keyword-only, every field required, nothing else."""
    import dataclasses

    import pytest

    from engine.core import events, messages

    sample = {"int": 7, "str": "x", "bool": True, "int | None": None}
    for name in events.__all__:
        cls = getattr(events, name)
        assert getattr(messages, name) is cls  # part of the message contract
        fields = dataclasses.fields(cls)
        kwargs = {f.name: sample[f.type] for f in fields}
        ev = cls(**kwargs)
        assert {n: getattr(ev, n) for n in kwargs} == kwargs
        assert ev == cls(**kwargs) and repr(ev).startswith(f"{name}(")
        with pytest.raises(TypeError):
            cls(*kwargs.values())
        for missing in kwargs:
            with pytest.raises(TypeError):
                cls(**{k: v for k, v in kwargs.items() if k != missing})
        with pytest.raises(TypeError):
            cls(**kwargs, extra=1)
        with pytest.raises(AttributeError):
            ev.extra = 1  # slots / native: no stray attributes


def test_vocabulary_strings_are_interned():
    """The engine compares the vocabulary by identity; a compiled engine uses its own (interned)
    copies of these literals, so they must be the interned strings in messages too."""
    import sys

    from engine.core import messages

    for name, value in vars(messages).items():
        if name.isupper() and isinstance(value, str):
            assert sys.intern(value) is value, name


def test_compiled_or_pure_build_is_reported_and_a_stale_build_is_ignored(tmp_path):
    """``engine.core.NATIVE``; a compiled build whose recorded source digest differs from the
    sources is not used (the .py files are imported instead, with a warning)."""
    import os
    import shutil
    import subprocess
    import sys

    import engine.core
    from engine.core import native

    assert engine.core.NATIVE in ("compiled", "pure", "pure (stale build ignored)")
    if engine.core.NATIVE == "compiled":
        assert not engine.core.engine.__file__.endswith(".py")
    if not native.compiled_files():
        return  # nothing built: the rest needs a build
    pkg = tmp_path / "engine" / "core"
    shutil.copytree(native.DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "engine" / "__init__.py").write_text("")
    probe = "import engine.core as c; print(c.NATIVE, c.engine.__file__.endswith('.py'))"
    env = {k: v for k, v in os.environ.items() if k != "ENGINE_CORE_PURE"}

    def run() -> str:
        out = subprocess.run(
            [sys.executable, "-W", "ignore::RuntimeWarning", "-c", probe],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    if os.path.exists(pkg / "_native_build.txt") and (pkg / "_native_build.txt").read_text().split()[:1] == [
        native.sources_digest()
    ]:
        assert run() == "compiled False"
    with open(pkg / "book.py", "a") as f:
        f.write("\n# edited after the build\n")
    assert run() == "pure (stale build ignored) True"
