"""Property tests: random command sequences over three markets and several accounts, with every
command kind (orders of every type/TIF/STP, trigger orders of each, cancels, cancel-all,
deposits, withdrawals, market updates, and deliberately bad commands). After every command the
invariants hold; replaying the same commands gives the same events; a snapshot taken at any
point, restored and fed the rest, gives the same events and final state.

``ENGINE_CORE_EXAMPLES`` (default 120) sets the number of examples: the default run takes a few
seconds; use e.g. ``ENGINE_CORE_EXAMPLES=3000`` for a thorough one.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import (
    ASK,
    BID,
    CANCEL_ONLY,
    CLOSED,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    OPEN,
    POST_ONLY,
    REASON_UNFILLED,
    REJECT_BOTH,
    REJECT_MAKER,
    REJECT_TAKER,
    AddAsset,
    AddMarket,
    CancelAll,
    CancelOrder,
    Deposit,
    Engine,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    PlaceOrder,
    Rejected,
    Trade,
    UpdateMarket,
    Withdraw,
)

from .helpers import TRIGGERED, EventChecker, add_transfers, check_invariants, digest_ignoring_seq

settings.register_profile(
    "engine_core",
    max_examples=int(os.environ.get("ENGINE_CORE_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ENGINE_CORE = settings.get_profile("engine_core")
# the dense test runs ~3x more matching per example: fewer examples for the same time
ENGINE_CORE_DENSE = settings(ENGINE_CORE, max_examples=max(10, ENGINE_CORE.max_examples // 3))

ACCOUNTS = (1, 2, 3, 4)
# symbol -> (base, quote, tick, step, mid price in ticks, min_notional, maker, taker)
MARKETS = {
    "A_Q": ("A", "Q", "1", "1", 100, 0, 10, 25),  # base_per_lot 1, quote_per_tick_lot 100
    "B_Q": ("B", "Q", "0.5", "0.1", 40, 0, 0, 30),  # base_per_lot 10, quote_per_tick_lot 5
    "A_B": ("A", "B", "1", "1", 20, 500, 50, 5),  # maker fee above taker fee; a min notional
}
ASSETS = {"A": 0, "B": 2, "Q": 2}


def setup_commands() -> list:
    cmds: list = [AddAsset(ts=1, symbol=s, decimals=d) for s, d in ASSETS.items()]
    for sym, (base, quote, tick, step, _mid, min_notional, maker, taker) in MARKETS.items():
        cmds.append(
            AddMarket(
                ts=1,
                symbol=sym,
                base=base,
                quote=quote,
                tick_size=tick,
                step_size=step,
                min_price=1,
                max_price=1000,
                min_quantity=1,
                max_quantity=500,
                min_notional=min_notional,
                maker_fee_bps=maker,
                taker_fee_bps=taker,
            )
        )
    for acct in ACCOUNTS:
        for asset in ASSETS:
            cmds.append(
                Deposit(ts=1, account=acct, asset=asset, amount=10_000_000, tx_id=f"init-{acct}-{asset}")
            )
    return cmds


markets = st.sampled_from(("A_Q", "A_Q", "A_Q", "B_Q", "A_B"))
accounts = st.sampled_from(ACCOUNTS)
sides = st.sampled_from((BID, ASK))
stps = st.sampled_from((REJECT_TAKER, REJECT_MAKER, REJECT_BOTH))
client_ids = st.one_of(st.none(), st.none(), st.integers(0, 3))


def trigger_prices(mid: int):
    """Mostly none; else near the market's prices, where trades move the last price across it."""
    return st.one_of(st.none(), st.none(), st.none(), st.integers(mid - 4, mid + 4))


@st.composite
def limit_orders(draw):
    sym = draw(markets)
    mid = MARKETS[sym][4]
    return PlaceOrder(
        ts=0,
        account=draw(accounts),
        market=sym,
        side=draw(sides),
        order_type=LIMIT,
        price=draw(st.integers(mid - 3, mid + 3)),
        quantity=draw(st.integers(1, 40)),
        time_in_force=draw(st.sampled_from((GTC, GTC, GTC, IOC, FOK))),
        post_only=draw(st.integers(0, 5)) == 0,
        self_trade_prevention=draw(stps),
        client_id=draw(client_ids),
        trigger_price=draw(trigger_prices(mid)),
    )


@st.composite
def market_orders(draw):
    sym = draw(markets)
    side = draw(sides)
    by_budget = side == BID and draw(st.booleans())
    return PlaceOrder(
        ts=0,
        account=draw(accounts),
        market=sym,
        side=side,
        order_type=MARKET,
        quantity=None if by_budget else draw(st.integers(1, 60)),
        quote_quantity=draw(st.integers(1, 20_000)) if by_budget else None,
        time_in_force=draw(st.sampled_from((GTC, IOC, FOK))) if not by_budget else IOC,
        self_trade_prevention=draw(stps),
        client_id=draw(client_ids),
        trigger_price=draw(trigger_prices(MARKETS[sym][4])),
    )


@st.composite
def bad_orders(draw):
    """Orders with one wrong thing (rejected, must change nothing)."""
    sym = draw(st.sampled_from((*sorted(MARKETS), "NOPE")))
    return PlaceOrder(
        ts=0,
        account=draw(st.sampled_from((*ACCOUNTS, 0, 99))),
        market=sym,
        side=draw(st.sampled_from((BID, ASK, "Buy"))),
        order_type=draw(st.sampled_from((LIMIT, MARKET))),
        price=draw(st.one_of(st.none(), st.integers(-5, 1005))),
        quantity=draw(st.one_of(st.none(), st.integers(-2, 600))),
        quote_quantity=draw(st.one_of(st.none(), st.integers(-1, 10**7))),
        time_in_force=draw(st.sampled_from((GTC, IOC, FOK, "GTD"))),
        post_only=draw(st.booleans()),
        client_id=draw(st.one_of(st.none(), st.integers(-1, 2**32))),
        trigger_price=draw(st.one_of(st.none(), st.none(), st.integers(-5, 1005))),
    )


cancels = st.builds(
    CancelOrder,
    ts=st.just(0),
    account=accounts,
    market=markets,
    order_id=st.one_of(st.integers(1, 40), st.integers(1, 40), st.none()),
    client_id=st.one_of(st.none(), st.none(), st.integers(0, 3)),
)
cancel_alls = st.builds(CancelAll, ts=st.just(0), account=accounts, market=markets)
transfers = st.builds(
    lambda kind, acct, asset, amount, tx: kind(
        ts=0, account=acct, asset=asset, amount=amount, tx_id=f"t{tx}"
    ),
    st.sampled_from((Deposit, Withdraw)),
    st.sampled_from((*ACCOUNTS, 0)),
    st.sampled_from((*ASSETS, "Z")),
    st.integers(-1, 300_000),
    st.integers(0, 30),
)
updates = st.builds(
    UpdateMarket,
    ts=st.just(0),
    symbol=markets,
    state=st.sampled_from((None, None, OPEN, OPEN, OPEN, POST_ONLY, CANCEL_ONLY, CLOSED)),
    maker_fee_bps=st.one_of(st.none(), st.integers(0, 100)),
    taker_fee_bps=st.one_of(st.none(), st.integers(0, 100)),
    min_notional=st.one_of(st.none(), st.integers(0, 2000)),
)

commands = st.one_of(
    limit_orders(),
    limit_orders(),
    limit_orders(),
    limit_orders(),
    market_orders(),
    cancels,
    cancels,
    cancel_alls,
    transfers,
    updates,
    bad_orders(),
)


def _stamp(cmds: list) -> list:
    """Gives every command its own increasing ts (as the stream ids would)."""
    out = []
    for i, c in enumerate(cmds):
        c.ts = 1_700_000_000_000 + i
        out.append(c)
    return out


def _check_taker(engine: Engine, events: list) -> None:
    """Per accepted order: trades in price priority then time priority, at the maker's price,
    within the taker's limit; an unfilled remainder left nothing it could have traded with.
    (The command's own order: the orders it triggered follow it, checked by the invariants.)"""
    fired = next((i for i, e in enumerate(events) if isinstance(e, TRIGGERED)), None)
    if fired is not None:
        events = events[:fired]
        engine = None  # the book has moved on since
    acc = [e for e in events if isinstance(e, OrderAccepted)]
    if not acc:
        return
    taker = acc[0]
    trades = [e for e in events if isinstance(e, Trade)]
    fills = [e for e in events if isinstance(e, OrderFilled)]
    makers = [f for f in fills if f.is_maker]
    assert len(makers) == len(trades) == len(fills) // 2
    is_bid = taker.side == BID
    last = None
    for t, m in zip(trades, makers, strict=True):
        assert m.price == t.price  # at the maker's price
        if taker.order_type == LIMIT:
            assert t.price <= taker.price if is_bid else t.price >= taker.price
        if last is not None:
            lp, lid = last
            assert (t.price >= lp) if is_bid else (t.price <= lp)  # best price first
            if t.price == lp:
                assert m.priority > lid  # FIFO within a level (a trigger order's: when it was placed)
        last = (t.price, m.priority)
    exp = [e for e in events if isinstance(e, OrderExpired) and e.order_id == taker.order_id]
    if exp and exp[0].reason == REASON_UNFILLED and taker.quote_quantity is None and engine is not None:
        bids, asks, _ = engine.depth(taker.market)
        opp = asks if is_bid else bids
        if taker.order_type == MARKET:
            assert not opp, opp
        elif opp:
            assert (opp[0][0] > taker.price) if is_bid else (opp[0][0] < taker.price)


def run_all(engine: Engine, cmds: list, check: bool) -> list:
    out = []
    net: dict = {}
    checker = EventChecker(engine) if check else None
    for c in cmds:
        before = digest_ignoring_seq(engine) if check else None
        events = engine.apply(c)
        out.append(events)
        add_transfers(net, events)
        if check:
            checker.feed(engine, events)
            check_invariants(engine, net)
            if events and isinstance(events[0], Rejected):
                assert digest_ignoring_seq(engine) == before, (c, events)
            else:
                _check_taker(engine, events)
    return out


@ENGINE_CORE
@given(body=st.lists(commands, min_size=10, max_size=80), cut=st.integers(0, 10**6))
def test_random_command_sequences_keep_every_invariant_and_replay_identically(body, cut):
    cmds = _stamp(setup_commands() + body)
    engine = Engine()
    events = run_all(engine, cmds, check=True)

    # replay from scratch: identical events and state
    again = Engine()
    assert run_all(again, cmds, check=False) == events
    assert again.state_digest() == engine.state_digest()

    # snapshot at a random point, restore, feed the rest: identical events and state
    k = cut % (len(cmds) + 1)
    first = Engine()
    run_all(first, cmds[:k], check=False)
    restored = Engine.restore(first.snapshot())
    assert restored.state_digest() == first.state_digest()
    assert run_all(restored, cmds[k:], check=False) == events[k:]
    assert restored.state_digest() == engine.state_digest()
    assert restored.snapshot() == engine.snapshot()


@ENGINE_CORE_DENSE
@given(
    body=st.lists(
        st.one_of(limit_orders(), limit_orders(), limit_orders(), market_orders(), cancels),
        min_size=30,
        max_size=150,
    )
)
def test_dense_order_flow_on_a_tight_book(body):
    """Orders and cancels only (more matching per example), same invariants."""
    run_all(Engine(), _stamp(setup_commands() + body), check=True)


@ENGINE_CORE
@given(
    unit=st.integers(1, 10**6),
    budget=st.integers(0, 10**9),
    bps=st.integers(0, 10000),
)
def test_affordable_lots_is_the_largest_quantity_whose_cost_fits(unit, budget, bps):
    from engine.core.reserves import affordable

    q = affordable(unit, budget, bps)

    def cost(n):
        x = unit * n
        return x + x * bps // 10000

    assert q >= 0
    assert cost(q) <= budget
    assert cost(q + 1) > budget
