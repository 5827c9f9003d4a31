"""Test helpers: a small harness around ``Engine`` and the invariant checks shared by the
scenario and property tests."""

from __future__ import annotations

from collections import defaultdict

from engine.core import (
    ASK,
    BID,
    LIMIT,
    MARKET,
    NEW,
    PARTIALLY_FILLED,
    TRIGGER_PENDING,
    AddAsset,
    AddMarket,
    BalanceChanged,
    CancelAll,
    CancelOrder,
    Deposit,
    Deposited,
    DepthChanged,
    Engine,
    OrderTriggered,
    OrderTriggerFailed,
    PlaceOrder,
    Rejected,
    Trade,
    UpdateMarket,
    Withdraw,
    Withdrawn,
)

SYM = "SOL_USD"
SELLER, BUYER, OTHER = 1, 2, 3
START_SOL = 1_000
START_USD = 1_000_000


def types(events) -> list[str]:
    return [type(e).__name__ for e in events]


def of(events, cls) -> list:
    return [e for e in events if isinstance(e, cls)]


def one(events, cls):
    found = of(events, cls)
    assert len(found) == 1, types(events)
    return found[0]


# The first event of an order its trigger placed (or failed to place): its events follow.
TRIGGERED = OrderTriggered | OrderTriggerFailed


def add_transfers(net: dict, events: list) -> None:
    """Adds the deposits and withdrawals among ``events`` to ``net`` (asset -> deposits -
    withdrawals), the totals conservation is checked against."""
    for ev in events:
        if isinstance(ev, Deposited):
            net[ev.asset] = net.get(ev.asset, 0) + ev.amount
        elif isinstance(ev, Withdrawn):
            net[ev.asset] = net.get(ev.asset, 0) - ev.amount


def market_args(**changes) -> dict:
    """The fields of the ``AddMarket`` of ``SOL_USD`` (``Harness``'s market, without ``ts``), with
    ``changes``: for other markets like it."""
    args = {
        "symbol": SYM,
        "base": "SOL",
        "quote": "USD",
        "tick_size": "1",
        "step_size": "1",
        "min_price": 1,
        "max_price": 1_000_000,
        "min_quantity": 1,
        "max_quantity": 1_000_000,
        "min_notional": 0,
        "maker_fee_bps": 10,
        "taker_fee_bps": 20,
    }
    args.update(changes)
    return args


class Harness:
    """An engine with assets SOL and USD (0 decimals, so 1 unit = 1 lot = 1 tick), market
    ``SOL_USD`` (tick 1, step 1: notional = price * quantity) and funded accounts."""

    def __init__(self, *, fund: bool = True, **market) -> None:
        """``market``: fields of ``SOL_USD``'s ``AddMarket`` other than ``market_args``'s."""
        self.e = Engine()
        self.ts = 1_000
        self._tx = 0
        self.net = defaultdict(int)  # asset -> deposits - withdrawals
        self.ok(AddAsset, symbol="SOL", decimals=0)
        self.ok(AddAsset, symbol="USD", decimals=0)
        self.ok(AddMarket, **market_args(**market))
        if fund:
            for acct in (SELLER, BUYER, OTHER):
                self.deposit(acct, "SOL", START_SOL)
                self.deposit(acct, "USD", START_USD)

    # -- commands ------------------------------------------------------------------------------

    def run(self, cls, **kw):
        self.ts += 1
        events = self.e.apply(cls(ts=self.ts, **kw))
        add_transfers(self.net, events)
        return events

    def ok(self, cls, **kw):
        events = self.run(cls, **kw)
        assert not of(events, Rejected), events
        return events

    def deposit(self, account, asset, amount, tx_id=None):
        return self._transfer(Deposit, account, asset, amount, tx_id)

    def withdraw(self, account, asset, amount, tx_id=None):
        return self._transfer(Withdraw, account, asset, amount, tx_id)

    def _transfer(self, cls, account, asset, amount, tx_id):
        self._tx += 1
        tx_id = f"tx{self._tx}" if tx_id is None else tx_id
        return self.run(cls, account=account, asset=asset, amount=amount, tx_id=tx_id)

    def limit(self, account, side, price, quantity, market=SYM, **kw):
        return self.run(
            PlaceOrder,
            account=account,
            market=market,
            side=side,
            order_type=LIMIT,
            price=price,
            quantity=quantity,
            **kw,
        )

    def buy(self, account, price, quantity, **kw):
        return self.limit(account, BID, price, quantity, **kw)

    def sell(self, account, price, quantity, **kw):
        return self.limit(account, ASK, price, quantity, **kw)

    def market(self, account, side, quantity=None, quote_quantity=None, market=SYM, **kw):
        return self.run(
            PlaceOrder,
            account=account,
            market=market,
            side=side,
            order_type=MARKET,
            quantity=quantity,
            quote_quantity=quote_quantity,
            **kw,
        )

    def cancel(self, account, order_id=None, client_id=None, market=SYM):
        return self.run(CancelOrder, account=account, market=market, order_id=order_id, client_id=client_id)

    def cancel_all(self, account, market=SYM):
        return self.run(CancelAll, account=account, market=market)

    def update(self, symbol=SYM, **kw):
        return self.run(UpdateMarket, symbol=symbol, **kw)

    # -- reads ---------------------------------------------------------------------------------

    def bal(self, account, asset="USD"):
        return self.e.balance(account, asset)

    def depth(self, market=SYM):
        bids, asks, _ = self.e.depth(market)
        return bids, asks

    def check(self):
        check_invariants(self.e, self.net)


def check_invariants(engine: Engine, net: dict) -> None:
    """Conservation, no negatives, locks == reserves, uncrossed consistent books, pending
    triggers not reached by their market's last price."""
    totals = defaultdict(int)
    for account, asset, available, locked in engine.iter_balances():
        assert available >= 0 and locked >= 0, (account, asset, available, locked)
        totals[asset] += available + locked
    for asset in set(totals) | set(net):
        assert totals[asset] == net.get(asset, 0), (asset, totals[asset], net.get(asset, 0))
    reserves = defaultdict(int)
    per_level = defaultdict(int)
    for o in engine.all_open_orders():
        if o.status == TRIGGER_PENDING:
            book = engine._books[o.market]
            assert book.last_price is not None and o.trigger_price != book.last_price, (o, book.last_price)
            above = o.trigger_price > book.last_price
            assert ((o.trigger_price, o.order_id) in book.triggers_above) is above, o
            assert ((-o.trigger_price, o.order_id) in book.triggers_below) is not above, o
            asset, amount = engine.order_reserve(o)
            reserves[(o.account, asset)] += amount
            continue
        assert o.status in (NEW, PARTIALLY_FILLED), o
        assert o.order_type == LIMIT
        assert o.remaining > 0 and o.executed + o.remaining == o.quantity, o
        asset, amount = engine.order_reserve(o)
        reserves[(o.account, asset)] += amount
        per_level[(o.market, o.side, o.price)] += o.remaining
    for account, asset, _available, locked in engine.iter_balances():
        assert locked == reserves.get((account, asset), 0), (
            account,
            asset,
            locked,
            reserves.get((account, asset)),
        )
    for key, amount in reserves.items():
        assert engine.balance(*key)[1] == amount, key
    seen = 0
    for sym in engine.markets:
        bids, asks, _ = engine.depth(sym)
        if bids and asks:
            assert bids[0][0] < asks[0][0], (sym, bids[0], asks[0])
        assert bids == sorted(bids, reverse=True)
        assert asks == sorted(asks)
        for side, levels in ((BID, bids), (ASK, asks)):
            for price, qty in levels:
                assert qty > 0
                assert per_level[(sym, side, price)] == qty, (sym, side, price, qty)
                seen += 1
        best_bid, best_ask = engine.best_bid_ask(sym)
        assert best_bid == (bids[0][0] if bids else None)
        assert best_ask == (asks[0][0] if asks else None)
    assert seen == len(per_level)
    pending = {o.order_id for o in engine.all_open_orders() if o.status == TRIGGER_PENDING}
    listed = {
        oid for book in engine._books.values() for _, oid in (*book.triggers_above, *book.triggers_below)
    }
    assert listed == pending


class EventChecker:
    """Checks the event stream: seq continuity, per-market gap-free depth update ids and trade
    ids, DepthChanged matching the book, one sorted BalanceChanged per touched balance."""

    def __init__(self, engine: Engine) -> None:
        self.seq = engine.last_seq
        self.update_ids = {sym: engine.depth(sym)[2] for sym in engine.markets}
        self.trade_ids = {sym: engine.last_trade_id(sym) for sym in engine.markets}

    def feed(self, engine: Engine, events: list) -> None:
        for ev in events:
            self.seq += 1
            assert ev.seq == self.seq, (ev, self.seq)
        assert engine.last_seq == self.seq
        if events and isinstance(events[0], Rejected):
            assert len(events) == 1
        for sym in engine.markets:
            self.update_ids.setdefault(sym, 0)
            self.trade_ids.setdefault(sym, 0)
        last_depth: dict = {}
        for ev in events:
            if isinstance(ev, DepthChanged):
                self.update_ids[ev.market] += 1
                assert ev.update_id == self.update_ids[ev.market], ev
                last_depth[(ev.market, ev.side, ev.price)] = ev.quantity
            elif isinstance(ev, Trade):
                self.trade_ids[ev.market] += 1
                assert ev.trade_id == self.trade_ids[ev.market], ev
        for sym in engine.markets:
            assert engine.depth(sym)[2] == self.update_ids[sym]
            assert engine.last_trade_id(sym) == self.trade_ids[sym]
        for (sym, side, price), qty in last_depth.items():
            bids, asks, _ = engine.depth(sym)
            assert dict(bids if side == BID else asks).get(price, 0) == qty
        # The command's own events, then each triggered order's (from its OrderTriggered or
        # OrderTriggerFailed): each part ends with its balance changes, sorted, one per balance.
        parts: list[list] = [[]]
        for ev in events:
            if isinstance(ev, TRIGGERED):
                parts.append([])
            parts[-1].append(ev)
        final = {}
        for part in parts:
            bal = [ev for ev in part if isinstance(ev, BalanceChanged)]
            keys = [(ev.account, ev.asset) for ev in bal]
            assert keys == sorted(set(keys)), keys
            if bal:  # balance events come last
                assert all(isinstance(ev, BalanceChanged) for ev in part[len(part) - len(bal) :])
            final.update(((ev.account, ev.asset), (ev.available, ev.locked)) for ev in bal)
        for key, value in final.items():
            assert engine.balance(*key) == value


def digest_ignoring_seq(engine: Engine) -> str:
    """The state digest with the global seq counter zeroed (a rejection moves only that)."""
    seq = engine._seq
    engine._seq = 0
    try:
        return engine.state_digest()
    finally:
        engine._seq = seq


def assert_rejected_and_unchanged(engine: Engine, apply, code: str, message_part: str = ""):
    """Runs ``apply()``; asserts a lone ``Rejected`` with ``code`` and that nothing but the
    Rejected event's own seq changed (balances, books, counters, ids, snapshot bytes)."""
    before = digest_ignoring_seq(engine)
    seq = engine.last_seq
    events = apply()
    assert len(events) == 1 and isinstance(events[0], Rejected), events
    r = events[0]
    assert r.code == code, r
    assert message_part.lower() in r.message.lower(), r
    assert r.seq == seq + 1 and engine.last_seq == seq + 1
    assert digest_ignoring_seq(engine) == before
    return r
