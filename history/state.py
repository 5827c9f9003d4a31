"""The engine's state as the database has it, and how it compares with the engine's own.

The persistence batches' rows (``history.models.Checkpoint``) form a chain: from the beginning
(or the ``base`` row), each batch begins where a written one ended. Every point the chain
reaches where a batch ended with a checkpoint is a ``Position``: the database holds every
persisted event up to it, and the counters the events do not carry. From a position, the
engine's state is rebuilt (``snapshot_at``): balances are the ledger's sums, locks the reserves
of the orders open there, each open order as its events left it. ``reconcile`` compares that
with a snapshot the engine wrote at the same position.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, Sum

from engine.core import Engine
from engine.core.messages import GTC, LIMIT, NEW, PARTIALLY_FILLED, SIDES, TRIGGER_PENDING
from engine.core.snapshot import VOCABULARY, compose
from engine.snapshots import SnapshotData
from engine.ticker import WINDOW_MS, RollingTicker

from .models import Checkpoint, Fill, LedgerEntry, Order, Trade, Transfer

log = logging.getLogger(__name__)

_SIDES = {side: side for side in SIDES}  # the core compares sides by identity


@dataclass
class Position:
    """A checkpoint the database holds everything up to."""

    seq: int
    stream_id: str
    last_order_id: int = 0
    assets: dict[str, int] = field(default_factory=dict)  # in the order the engine added them
    markets: dict[str, dict] = field(default_factory=dict)  # definitions, likewise
    books: dict[str, list[int]] = field(default_factory=dict)  # [last trade id, depth update id]

    def state(self) -> dict:
        return {
            "last_order_id": self.last_order_id,
            "assets": list(self.assets.items()),
            "markets": list(self.markets.items()),
            "books": self.books,
        }

    def then(self, seq: int, stream_id: str | None, state: dict | None) -> Position:
        """The position after a batch ending at ``seq`` (a mid-command end has no stream id and
        no state: it keeps what it knew)."""
        if state is None:
            return Position(seq, stream_id or "", self.last_order_id, self.assets, self.markets, self.books)
        return Position(
            seq,
            stream_id or "",
            state["last_order_id"],
            {**self.assets, **dict(state["assets"])},
            {**self.markets, **dict(state["markets"])},
            {**self.books, **state["books"]},
        )


def positions() -> list[Position]:
    """Every checkpoint on the chain, in seq order."""
    rows = list(
        Checkpoint.objects.order_by("from_seq", "seq").values_list(
            "from_seq", "seq", "stream_id", "state", "base"
        )
    )
    bases = [r for r in rows if r[4]]
    if bases:
        _from, seq, stream_id, state, _base = max(bases, key=lambda r: r[1])
        reached = {seq: Position(0, "").then(seq, stream_id, state)}
    else:
        reached = {0: Position(0, "0-0")}
    out = [p for p in reached.values() if p.stream_id]
    for from_seq, seq, stream_id, state, _base in rows:
        before = reached.get(from_seq)
        if before is None or seq in reached:
            continue
        reached[seq] = after = before.then(seq, stream_id, state)
        if stream_id:
            out.append(after)
    out.sort(key=lambda p: p.seq)
    return out


def latest() -> Position | None:
    """The newest checkpoint the database holds everything up to; None before the first."""
    found = [p for p in positions() if p.seq > 0]
    return found[-1] if found else None


def at(seq: int) -> Position | None:
    return next((p for p in positions() if p.seq == seq), None)


def database_history() -> str | None:
    """What the database holds of the exchange's history, in words; None when nothing."""
    position = latest()
    if position is not None:
        return f"history up to seq {position.seq} (stream id {position.stream_id})"
    if Transfer.objects.exists():
        return "history written before checkpoints were recorded"
    return None


class RebuildError(Exception):
    pass


def open_orders_at(position: Position) -> tuple[list[dict], list[dict]]:
    """The orders open at ``position``: opened by then (their id is not newer), and open now or
    closed after it (their last event is later: it found them open). ``(resting, pending
    triggers)``: the resting ones each as its fills up to the position left it; a trigger order
    placed on the book after the position (its priority, drawn then, is newer) was pending."""
    seq = position.seq
    rows = list(
        Order.objects.filter(order_id__lte=position.last_order_id)
        .filter(Q(status__in=(NEW, PARTIALLY_FILLED, TRIGGER_PENDING)) | Q(last_seq__gt=seq))
        .values_list(
            "order_id", "user_id", "market__symbol", "side", "order_type", "time_in_force", "post_only",
            "self_trade_prevention", "client_id", "price", "quantity", "executed_quantity",
            "executed_quote_quantity", "created_ts", "fee_bps", "last_seq", "trigger_price", "priority",
            "quote_quantity",
        )
    )  # fmt: skip
    triggers = []
    resting_rows = []
    for row in rows:
        oid, tp, priority = row[0], row[16], row[17]
        if tp is not None and (priority is None or priority > position.last_order_id):
            account, sym, side, otype, tif, post_only, stp, cid, price, qty = row[1:11]
            triggers.append(
                {
                    "order_id": oid, "account": account, "market": sym, "side": VOCABULARY[side],
                    "order_type": VOCABULARY[otype], "time_in_force": VOCABULARY[tif], "post_only": post_only,
                    "stp": VOCABULARY[stp], "client_id": cid, "price": price, "quantity": qty,
                    "quote_quantity": row[18], "created_ts": row[13], "fee_bps": row[14], "trigger_price": tp,
                }
            )  # fmt: skip
        else:
            resting_rows.append(row)
    rows = resting_rows
    later = [r[0] for r in rows if r[15] > seq]
    executed: dict[int, tuple[int, int]] = {}
    if later:
        for order_id, quantity, quote in (
            Fill.objects.filter(order_id__in=later, seq__lte=seq)
            .values("order_id")
            .annotate(q=Sum("quantity"), v=Sum("quote_quantity"))
            .values_list("order_id", "q", "v")
        ):
            executed[order_id] = (quantity, quote)
    markets = position.markets
    orders = []
    for (
        oid,
        account,
        sym,
        side,
        otype,
        tif,
        post_only,
        stp,
        cid,
        price,
        qty,
        exq,
        exv,
        ts,
        fee,
        last,
        tp,
        prio,
        _,
    ) in rows:
        if otype != LIMIT or tif != GTC:
            raise RebuildError(f"order {oid} is open but is not a GTC limit order")
        if last > seq:
            exq, exv = executed.get(oid, (0, 0))
        if fee is None:  # written before orders carried their fee rate: the rate placing it used
            fee = max(markets[sym]["maker_fee_bps"], markets[sym]["taker_fee_bps"])
        orders.append(
            {
                "order_id": oid, "account": account, "market": sym, "side": _SIDES[side],
                "post_only": post_only, "stp": stp, "client_id": cid, "price": price, "quantity": qty,
                "remaining": qty - exq, "executed_quote": exv, "created_ts": ts, "fee_bps": fee,
                "trigger_price": tp, "priority": oid if prio is None else prio,
            }
        )  # fmt: skip
    return orders, triggers


def snapshot_at(position: Position, log_id: str | None) -> SnapshotData:
    """The engine's state at ``position`` as a snapshot file's content."""
    seq = position.seq
    orders, triggers = open_orders_at(position)
    markets = []
    for sym, definition in position.markets.items():
        trade_id, update_id = position.books.get(sym, (0, 0))[:2]
        markets.append((definition, trade_id, update_id, _last_price(sym, trade_id)))
    tx_ids = list(Transfer.objects.filter(seq__lte=seq).values_list("tx_id", flat=True))

    def core(balances: list[tuple[int, str, int, int]]) -> bytes:
        return compose(
            seq, position.last_order_id, position.assets, markets, orders, balances, tx_ids, triggers
        )

    # What the open orders lock, as the engine computes it.
    books = Engine.restore(core([]))
    locked: dict[tuple[int, str], int] = defaultdict(int)
    for order in books.all_open_orders():
        asset, amount = books.order_reserve(order)
        locked[(order.account, asset)] += amount
    totals = {
        (account, asset): total
        for account, asset, total in LedgerEntry.objects.filter(seq__lte=seq)
        .values("account", "asset")
        .annotate(total=Sum("amount"))
        .values_list("account", "asset", "total")
    }
    balances = []
    for key in sorted(totals.keys() | locked.keys()):
        total, held = totals.get(key, 0), locked.get(key, 0)
        if total < held:
            raise RebuildError(f"account {key[0]} holds {total} {key[1]} but its open orders lock {held}")
        balances.append((key[0], key[1], total - held, held))
    state = core(balances)
    Engine.restore(state)  # checked as any snapshot is
    return SnapshotData(
        stream_id=position.stream_id, core=state, extras={"tickers": _tickers(position)}, log_id=log_id
    )


def _last_price(symbol: str, trade_id: int) -> int | None:
    """The price of the market's trade ``trade_id`` (its last at a position), what its pending
    trigger orders wait for."""
    if not trade_id:
        return None
    return (
        Trade.objects.filter(market__symbol=symbol, trade_id=trade_id).values_list("price", flat=True).first()
    )


def _tickers(position: Position) -> dict:
    """Each market's rolling 24 h ticker as the engine would hold it at ``position``."""
    end_ts = int(position.stream_id.split("-")[0])
    tickers = {}
    for sym in position.markets:
        trades = Trade.objects.filter(market__symbol=sym, seq__lte=position.seq)
        last = trades.order_by("-trade_id").values_list("price", flat=True).first()
        if last is None:
            continue
        ticker = RollingTicker()
        for ts, price, quantity, quote in (
            trades.filter(ts__gt=end_ts - WINDOW_MS)
            .order_by("trade_id")
            .values_list("ts", "price", "quantity", "quote_quantity")
        ):
            ticker.add_trade(ts, price, quantity, quote)
        ticker.last_price = last
        tickers[sym] = ticker.to_state()
    return tickers


# --- reconciling ---------------------------------------------------------------------------------


def differences(snapshot: SnapshotData, position: Position) -> list[str]:
    """Every way the engine's state in ``snapshot`` differs from the database's at the same
    position, and every asset whose total differs from its deposits minus withdrawals there."""
    engine = Engine.restore(snapshot.core)
    database = Engine.restore(snapshot_at(position, snapshot.log_id).core)
    found = []
    if engine.last_order_id != database.last_order_id:
        found.append(f"last order id: engine {engine.last_order_id}, database {database.last_order_id}")
    if dict(engine.assets) != dict(database.assets):
        found.append(f"assets: engine {dict(engine.assets)}, database {dict(database.assets)}")
    for sym in sorted(engine.markets.keys() | database.markets.keys()):
        mine, theirs = engine.markets.get(sym), database.markets.get(sym)
        if mine is None or theirs is None or mine.definition() != theirs.definition():
            mine_d, theirs_d = mine and mine.definition(), theirs and theirs.definition()
            found.append(f"market {sym}: engine {mine_d}, database {theirs_d}")
            continue
        if engine.book_counters(sym) != database.book_counters(sym):
            found.append(
                f"market {sym} (last trade id, depth update id): engine {engine.book_counters(sym)},"
                f" database {database.book_counters(sym)}"
            )
        # An engine restored from a snapshot written before it kept last prices learns its
        # market's at the next trade: unknown is not a difference.
        mine_px, their_px = engine.last_price(sym), database.last_price(sym)
        if mine_px is not None and mine_px != their_px:
            found.append(f"market {sym} last price: engine {mine_px}, database {their_px}")
    mine_balances = {(a, s): (av, lk) for a, s, av, lk in engine.iter_balances() if av or lk}
    their_balances = {(a, s): (av, lk) for a, s, av, lk in database.iter_balances() if av or lk}
    for key in sorted(mine_balances.keys() | their_balances.keys()):
        if mine_balances.get(key, (0, 0)) != their_balances.get(key, (0, 0)):
            found.append(
                f"balance of account {key[0]} in {key[1]} (available, locked): engine"
                f" {mine_balances.get(key, (0, 0))}, database {their_balances.get(key, (0, 0))}"
            )
    mine_orders = {o.order_id: o.view() for o in engine.all_open_orders()}
    their_orders = {o.order_id: o.view() for o in database.all_open_orders()}
    for oid in sorted(mine_orders.keys() | their_orders.keys()):
        if mine_orders.get(oid) != their_orders.get(oid):
            found.append(f"open order {oid}: engine {mine_orders.get(oid)}, database {their_orders.get(oid)}")
    moved = defaultdict(int)
    for kind, asset, amount in Transfer.objects.filter(seq__lte=position.seq).values_list(
        "kind", "asset", "amount"
    ):
        moved[asset] += amount if kind == Transfer.Kind.DEPOSIT else -amount
    for whose, held in (
        ("the engine's accounts hold", engine.ledger.totals()),
        ("the database's ledger holds", database.ledger.totals()),
    ):
        for asset in sorted(moved.keys() | held.keys()):
            if held.get(asset, 0) != moved.get(asset, 0):
                found.append(
                    f"{asset}: {whose} (fees included) {held.get(asset, 0)}, deposits minus withdrawals"
                    f" are {moved.get(asset, 0)}"
                )
    return found


# --- keeping the chain short ------------------------------------------------------------------------


def compact() -> Position | None:
    """Fold the chain into one ``base`` row at its newest position, dropping the rows before it;
    returns that position."""
    with transaction.atomic():
        position = latest()
        if position is None:
            return None
        Checkpoint.objects.filter(Q(seq__lte=position.seq) | Q(from_seq__lt=position.seq)).delete()
        Checkpoint.objects.create(
            from_seq=position.seq,
            seq=position.seq,
            stream_id=position.stream_id,
            state=position.state(),
            base=True,
        )
    return position
