"""Snapshots: the engine's complete state as bytes, and back.

Layout: ``MAGIC`` (8 bytes) | version (u16, big endian) | payload length (u64) |
blake2b-256 of the payload (32 bytes) | payload. A wrong magic, version, length or checksum (or a
malformed payload) raises ``SnapshotError``: a damaged snapshot is never half-loaded.

The payload is ``marshal`` format 0 of plain tuples and lists of ints and strings. Format 0 has no
back-references and no interned-string codes, so the bytes depend only on the values, never on
which equal objects happen to be shared: two engines in the same state give the same bytes, and
``Engine.state_digest`` hashes them. Only live state is written (cancelled entries still parked
in a level's deque are not), in a canonical order (books in priority order, balances and tx ids
sorted). Derived indexes (orders by id, by account, by client id) are rebuilt on load.

Resting orders are stored by columns (one list per field), in order-id order. That is also
each level's time priority (an order joins the back of its level when it is accepted, and ids
increase), so the levels are rebuilt by grouping the orders by (market, side, price) in id
order; and it is the order the ``Order`` objects were allocated in, so reading their fields
walks memory roughly sequentially (walking them in book order instead costs a cache miss per
field). A resting order is always a GTC limit order with no quote quantity, its executed
quantity is ``quantity - remaining`` and its status follows from that, so those fields are not
stored; market, side, post-only and STP mode are packed into one small "kind" code. The order
is the orders' priority: their id, but for a trigger order placed on the book the id drawn then.
Pending trigger orders (few) follow as one tuple each, in id order, and each market's last trade
price, which they wait for.

Version 3 (before trigger orders) is still read: no pending triggers, no last prices (the next
trade sets them), each order's priority its id.
Loading runs with the cyclic garbage collector paused: allocating a million long-lived objects
otherwise triggers repeated full collections that cost more than the loading itself.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import struct
from collections.abc import Sequence
from operator import attrgetter

from sortedcontainers import SortedList

from .book import ORDER_ATTRS, Book, Level, Order
from .ledger import Balance
from .market import Market
from .messages import (
    BID,
    GTC,
    LIMIT,
    NEW,
    ORDER_TYPES,
    PARTIALLY_FILLED,
    SIDES,
    STP_MODES,
    TIMES_IN_FORCE,
    TRIGGER_PENDING,
)

__all__ = ["MAGIC", "VERSION", "VOCABULARY", "dump", "load", "encode_payload", "compose", "SnapshotError"]

MAGIC = b"XENGSNAP"
VERSION = 4
READABLE = (3, 4)
_HEADER = struct.Struct(">8sHQ32s")

# The engine compares these by identity: the ones read back must be its own objects.
VOCABULARY = {v: v for v in (*SIDES, *ORDER_TYPES, *TIMES_IN_FORCE, *STP_MODES)}


class SnapshotError(ValueError):
    """A snapshot that cannot be restored: bad magic, version, length, checksum or payload."""


# --- writing ---------------------------------------------------------------------------------


_COLUMNS = (
    "order_id",
    "account",
    "client_id",
    "price",
    "quantity",
    "remaining",
    "executed_quote",
    "created_ts",
    "fee_bps",
    "trigger_price",
    "priority",
)
_V3_COLUMNS = _COLUMNS[:-2]
_COLUMN_GETTERS = tuple(attrgetter(name) for name in _COLUMNS)
_get_kind = attrgetter("market", "side", "post_only", "stp", "order_type", "time_in_force", "quote_quantity")
# A pending trigger order's attributes but those it cannot have yet (fills, status, priority).
_TRIGGER_FIELDS = tuple(
    a for a in ORDER_ATTRS.values() if a not in ("executed", "executed_quote", "status", "priority")
)
_get_trigger = attrgetter(*_TRIGGER_FIELDS)


def _kinds(symbols: list[str]) -> list[tuple]:
    """Every (market, side, post_only, stp) a resting order can have, in a fixed order: the
    "kind" code of an order is its index here."""
    return [
        (sym, side, po, stp) for sym in symbols for side in SIDES for po in (False, True) for stp in STP_MODES
    ]


def _state(engine, extra) -> tuple:
    symbols = list(engine.markets)
    codes = {(*k, LIMIT, GTC, None): i for i, k in enumerate(_kinds(symbols))}
    pending = sorted((o for o in engine._orders.values() if o.status is TRIGGER_PENDING), key=_order_id)
    # Priority order: orders join ``_orders`` when they are placed (see the module docstring).
    orders = [o for o in engine._orders.values() if o.status is not TRIGGER_PENDING]
    try:
        kinds = list(map(codes.__getitem__, map(_get_kind, orders)))
    except KeyError:
        raise ValueError("cannot snapshot a resting order that is not a GTC limit order") from None
    markets = [
        (
            engine.markets[sym].to_tuple(),
            engine._books[sym].last_trade_id,
            engine._books[sym].update_id,
            engine._books[sym].last_price,
        )
        for sym in symbols
    ]
    balances = list(engine.ledger.iter_all())
    return (
        VERSION,
        engine._seq,
        engine._last_order_id,
        list(engine.assets.items()),
        markets,
        [list(map(get, orders)) for get in _COLUMN_GETTERS] + [kinds],
        [b[0] for b in balances],
        [b[1] for b in balances],
        [b[2] for b in balances],
        [b[3] for b in balances],
        sorted(engine._tx_ids),
        extra,
        list(map(_get_trigger, pending)),
    )


def _order_id(o: Order) -> int:
    return o.order_id


def encode_payload(engine, extra=None) -> bytes:
    return marshal.dumps(_state(engine, extra), 0)


def dump(engine, extra=None) -> bytes:
    return _framed(encode_payload(engine, extra))


def _framed(payload: bytes) -> bytes:
    digest = hashlib.blake2b(payload, digest_size=32).digest()
    return _HEADER.pack(MAGIC, VERSION, len(payload), digest) + payload


def compose(
    seq: int,
    last_order_id: int,
    assets: dict[str, int],
    markets: list[tuple[dict, int, int, int | None]],
    orders: list[dict],
    balances: list[tuple[int, str, int, int]],
    tx_ids: list[str],
    triggers: Sequence[dict] = (),
) -> bytes:
    """Snapshot bytes of a state assembled outside the engine (rebuilt from the database): the
    format ``dump`` writes, to be restored, and so checked, like any snapshot.

    ``markets``: (definition as ``MarketChanged`` carries it, last trade id, depth update id,
    last trade price); ``orders``: the resting orders, each a dict of ``_COLUMNS`` plus
    ``market``, ``side``, ``post_only`` and ``stp``; ``balances``: (account, asset, available,
    locked); ``triggers``: the pending trigger orders, dicts of ``_TRIGGER_FIELDS``."""
    from .market import Market
    from .messages import AddMarket

    built = [(Market.from_command(AddMarket(ts=0, **d), assets), tid, uid, px) for d, tid, uid, px in markets]
    codes = {k: i for i, k in enumerate(_kinds([m.symbol for m, _, _, _ in built]))}
    orders = sorted(orders, key=lambda o: o["priority"])
    columns = [[o[name] for o in orders] for name in _COLUMNS]
    columns.append([codes[(o["market"], o["side"], o["post_only"], o["stp"])] for o in orders])
    balances = sorted(balances)
    state = (
        VERSION,
        seq,
        last_order_id,
        list(assets.items()),
        [(m.to_tuple(), tid, uid, px) for m, tid, uid, px in built],
        columns,
        [b[0] for b in balances],
        [b[1] for b in balances],
        [b[2] for b in balances],
        [b[3] for b in balances],
        sorted(tx_ids),
        None,
        [tuple(t[name] for name in _TRIGGER_FIELDS) for t in sorted(triggers, key=lambda t: t["order_id"])],
    )
    return _framed(marshal.dumps(state, 0))


# --- reading ---------------------------------------------------------------------------------


def load(cls, data: bytes):
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SnapshotError("snapshot must be bytes")
    view = memoryview(data)
    if len(view) < _HEADER.size:
        raise SnapshotError("snapshot truncated: incomplete header")
    magic, version, length, digest = _HEADER.unpack_from(view)
    if magic != MAGIC:
        raise SnapshotError("not an engine snapshot (bad magic)")
    if version not in READABLE:
        raise SnapshotError(f"unsupported snapshot version {version}")
    payload = view[_HEADER.size :]
    if len(payload) != length:
        raise SnapshotError(
            f"snapshot truncated or padded: payload is {len(payload)} bytes, header says {length}"
        )
    if hashlib.blake2b(payload, digest_size=32).digest() != digest:
        raise SnapshotError("snapshot checksum mismatch")
    paused = gc.isenabled()
    gc.disable()
    try:
        state = marshal.loads(payload)
        return _rebuild(cls, state)
    except SnapshotError:
        raise
    except Exception as e:  # a well-checksummed but malformed payload
        raise SnapshotError(f"malformed snapshot payload: {e!r}") from e
    finally:
        if paused:
            gc.enable()


def _load_orders(eng, symbols: list[str], cols: list, version: int) -> None:
    if version == 3:  # no trigger orders yet: none placed by a trigger, priorities the ids
        if len(cols) != len(_V3_COLUMNS) + 1:
            raise SnapshotError("wrong number of order columns")
        cols = [*cols[:-1], [None] * len(cols[0]), cols[0], cols[-1]]
    if len(cols) != len(_COLUMNS) + 1:
        raise SnapshotError("wrong number of order columns")
    ids, _accounts, _cids, _prices, quantities, remainings = cols[:6]
    priorities = cols[-2]
    kinds = cols[-1]
    n = len(ids)
    for col in cols:
        if len(col) != n:
            raise SnapshotError("order columns of different lengths")
    kind_table = _kinds(symbols)
    if n:
        if min(remainings) <= 0:
            raise SnapshotError("resting order with nothing remaining")
        if any(map(int.__gt__, remainings, quantities)):
            raise SnapshotError("resting order with more remaining than its quantity")
        if not all(map(int.__lt__, priorities, priorities[1:])):
            raise SnapshotError("order priorities not strictly increasing")
        if len(set(ids)) != n:
            raise SnapshotError("order ids not unique")
        if min(kinds) < 0 or max(kinds) >= len(kind_table):
            raise SnapshotError("bad order kind")
    sides = []
    for sym, side, _po, _stp in kind_table:
        book = eng._books[sym]
        sides.append(book.bids if side is BID else book.asks)
    levels_of_kind = [s.levels for s in sides]
    new = object.__new__
    # The pure-Python class is filled in slot by slot (no __init__ call: faster); a compiled
    # (mypyc) class refuses object.__new__, and its constructor is cheap anyway.
    bare = Order.__new__ is new
    limit, gtc, partially_filled, new_status, level_cls = LIMIT, GTC, PARTIALLY_FILLED, NEW, Level
    orders: list[Order] = []
    append_order = orders.append
    acct_orders = eng._acct_orders
    get_account = acct_orders.get
    client_ids = eng._client_ids
    # One pass, in priority order: build each order, append it to its level (that is the
    # level's time priority), index it by id, account and client id.
    for oid, account, cid, price, qty, rem, exq, ts, fee, tp, prio, kind in zip(*cols, strict=True):
        market, side, post_only, stp = kind_table[kind]
        ex = qty - rem
        levels = levels_of_kind[kind]
        level = levels.get(price)
        if level is None:
            level = levels[price] = level_cls(price, side)
        else:
            price = level.price  # one int object per level
        if bare:
            o = new(Order)
            o.order_id = oid
            o.account = account
            o.market = market
            o.side = side
            o.order_type = limit
            o.time_in_force = gtc
            o.post_only = post_only
            o.stp = stp
            o.client_id = cid
            o.price = price
            o.quantity = qty
            o.quote_quantity = None
            o.remaining = rem
            o.executed = ex
            o.executed_quote = exq
            o.status = partially_filled if ex else new_status
            o.created_ts = ts
            o.fee_bps = fee
            o.trigger_price = tp
            o.priority = prio
        else:
            o = Order(
                oid,
                account,
                market,
                side,
                limit,
                gtc,
                post_only,
                stp,
                cid,
                price,
                qty,
                None,
                rem,
                ex,
                exq,
                partially_filled if ex else new_status,
                ts,
                fee,
                tp,
                prio,
            )
        level.orders.append(o)
        level.total += rem
        append_order(o)
        ao = get_account(account)
        if ao is None:
            acct_orders[account] = {oid: o}
        else:
            ao[oid] = o
        if cid is not None:
            client_ids[account << 32 | cid] = o
    eng._orders.update(zip(ids, orders, strict=True))
    for side in {id(s): s for s in sides}.values():
        side.prices = SortedList(side.levels)
        if side.prices:
            side.best = side.prices[-1] if side.is_bid else side.prices[0]


def _load_triggers(eng, triggers: list) -> None:
    """The pending trigger orders, onto their books' trigger lists (by the last prices)."""
    previous = 0
    for fields in triggers:
        oid, account, market, side, otype, tif, post_only, stp, cid, price, qty, qq, ts, fee, tp = fields
        if oid <= previous:
            raise SnapshotError("trigger order ids not strictly increasing")
        previous = oid
        book = eng._books[market]
        if book.last_price is None or tp == book.last_price:
            raise SnapshotError(f"pending trigger order {oid} without a last price on its side")
        words = VOCABULARY
        o = Order(oid, account, book.symbol, words[side], words[otype], words[tif], post_only, words[stp],
                  cid, price, qty, qq, qty, 0, 0, TRIGGER_PENDING, ts, fee, tp, None)  # fmt: skip
        if oid in eng._orders:
            raise SnapshotError(f"order id {oid} twice")
        eng._index(o)
        book.add_trigger(o)


def _rebuild(cls, state):
    version = state[0] if isinstance(state, tuple) and state else None
    if version == 3:
        state = (*state, [])  # no pending triggers
    if version not in READABLE or len(state) != 13:
        raise SnapshotError(f"unsupported payload version {version}")
    (
        version,
        seq,
        last_oid,
        assets,
        markets,
        order_cols,
        b_acc,
        b_asset,
        b_avail,
        b_locked,
        tx_ids,
        extra,
        triggers,
    ) = state
    eng = cls()
    eng._seq = seq
    eng._last_order_id = last_oid
    for sym, dec in assets:
        eng.assets[sym] = dec
    for entry in markets:
        mt, last_trade_id, update_id = entry[:3]
        m = Market.from_tuple(mt)
        m.validate()  # also interns the state string
        eng.markets[m.symbol] = m
        book = Book(m)
        book.last_trade_id = last_trade_id
        book.update_id = update_id
        book.last_price = entry[3] if version > 3 else None
        eng._books[m.symbol] = book
    _load_orders(eng, list(eng.markets), order_cols, version)
    _load_triggers(eng, triggers)
    accounts = eng.ledger.accounts
    for account, asset, available, locked in zip(b_acc, b_asset, b_avail, b_locked, strict=True):
        a = accounts.get(account)
        if a is None:
            a = accounts[account] = {}
        a[asset] = Balance(account, asset, available, locked)
    eng._tx_ids = set(tx_ids)
    eng.snapshot_extra = extra
    return eng
