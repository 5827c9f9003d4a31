"""Snapshots: the engine's complete state as bytes, and back.

Layout: ``MAGIC`` (8 bytes) | version (u16, big endian) | payload length (u64) |
blake2b-256 of the payload (32 bytes) | payload. The payload is ``marshal`` (format 4) of plain
tuples and lists: fast to write and read, and exact for ints and strings. A wrong magic, version,
length or checksum raises ``SnapshotError``: a damaged snapshot is never half-loaded.

Only the live state is written (cancelled entries still parked in a level's deque are not), and
everything is in a canonical order (books in priority order, balances and tx ids sorted), so the
payload of two engines in the same state is the same bytes: ``Engine.state_digest`` hashes it.
Derived indexes (orders by id, by account, by client id) are rebuilt on load.
"""

from __future__ import annotations

import hashlib
import marshal
import struct

from sortedcontainers import SortedList

from .book import Book, Level, Order
from .ledger import Balance
from .market import Market
from .messages import (
    ASK,
    BID,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    NEW,
    PARTIALLY_FILLED,
    REJECT_BOTH,
    REJECT_MAKER,
    REJECT_TAKER,
)

__all__ = ["MAGIC", "VERSION", "dump", "load", "encode_payload", "SnapshotError"]

MAGIC = b"XENGSNAP"
VERSION = 1
_HEADER = struct.Struct(">8sHQ32s")


class SnapshotError(ValueError):
    """A snapshot that cannot be restored: bad magic, version, length, checksum or payload."""


# A resting order is 11 ints in a flat per-side list (marshal of flat ints is compact and fast):
# order_id, account, flags, client_id (-1 for none), price, quantity, remaining, executed,
# executed_quote, created_ts, fee_bps. ``flags`` packs the small enums.
_ORDER_WIDTH = 11
_SIDE_CODES = {BID: 0, ASK: 1}
_TYPE_CODES = {LIMIT: 0, MARKET: 1}
_TIF_CODES = {GTC: 0, IOC: 1, FOK: 2}
_STP_CODES = {REJECT_TAKER: 0, REJECT_MAKER: 1, REJECT_BOTH: 2}
_STATUS_CODES = {NEW: 0, PARTIALLY_FILLED: 1}
_SIDES = (BID, ASK)
_TYPES = (LIMIT, MARKET)
_TIFS = (GTC, IOC, FOK)
_STPS = (REJECT_TAKER, REJECT_MAKER, REJECT_BOTH)
_STATUSES = (NEW, PARTIALLY_FILLED)


def _flags(o: Order) -> int:
    return (
        _SIDE_CODES[o.side]
        | _TYPE_CODES[o.order_type] << 1
        | _TIF_CODES[o.time_in_force] << 2
        | (1 if o.post_only else 0) << 4
        | _STP_CODES[o.stp] << 5
        | _STATUS_CODES[o.status] << 7
    )


def _side_orders(side) -> list:
    out: list = []
    extend = out.extend
    for level in side.iter_levels():
        for o in level.live_orders():
            if o.quote_quantity is not None or o.remaining is None:
                raise ValueError(f"cannot snapshot resting order {o!r}")
            extend(
                (
                    o.order_id,
                    o.account,
                    _flags(o),
                    -1 if o.client_id is None else o.client_id,
                    o.price,
                    o.quantity,
                    o.remaining,
                    o.executed,
                    o.executed_quote,
                    o.created_ts,
                    o.fee_bps,
                )
            )
    return out


def _state(engine, extra) -> tuple:
    markets = []
    for sym, m in engine.markets.items():
        book = engine._books[sym]
        markets.append(
            (
                m.to_tuple(),
                book.last_trade_id,
                book.update_id,
                _side_orders(book.bids),
                _side_orders(book.asks),
            )
        )
    balances = list(engine.ledger.iter_all())
    return (
        VERSION,
        engine._seq,
        engine._last_order_id,
        list(engine.assets.items()),
        markets,
        balances,
        sorted(engine._tx_ids),
        extra,
    )


def encode_payload(engine, extra=None) -> bytes:
    # marshal format 0: no back-references and no interned-string codes, so the bytes depend only
    # on the values, never on which equal objects happen to be shared (needed for the digest).
    return marshal.dumps(_state(engine, extra), 0)


def dump(engine, extra=None) -> bytes:
    payload = encode_payload(engine, extra)
    digest = hashlib.blake2b(payload, digest_size=32).digest()
    return _HEADER.pack(MAGIC, VERSION, len(payload), digest) + payload


def load(cls, data: bytes):
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SnapshotError("snapshot must be bytes")
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise SnapshotError("snapshot truncated: incomplete header")
    magic, version, length, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SnapshotError("not an engine snapshot (bad magic)")
    if version != VERSION:
        raise SnapshotError(f"unsupported snapshot version {version}")
    payload = data[_HEADER.size :]
    if len(payload) != length:
        raise SnapshotError(
            f"snapshot truncated or padded: payload is {len(payload)} bytes, header says {length}"
        )
    if hashlib.blake2b(payload, digest_size=32).digest() != digest:
        raise SnapshotError("snapshot checksum mismatch")
    try:
        state = marshal.loads(payload)
        return _rebuild(cls, state)
    except SnapshotError:
        raise
    except Exception as e:  # a well-checksummed but malformed payload
        raise SnapshotError(f"malformed snapshot payload: {e!r}") from e


def _rebuild(cls, state):
    version, seq, last_oid, assets, markets, balances, tx_ids, extra = state
    if version != VERSION:
        raise SnapshotError(f"unsupported payload version {version}")
    eng = cls()
    eng._seq = seq
    eng._last_order_id = last_oid
    for sym, dec in assets:
        eng.assets[sym] = dec
    orders_index = eng._orders
    acct_orders = eng._acct_orders
    client_ids = eng._client_ids
    for mt, last_trade_id, update_id, bids, asks in markets:
        m = Market.from_tuple(mt)
        m.validate()  # also interns the state string
        eng.markets[m.symbol] = m
        book = Book(m)
        book.last_trade_id = last_trade_id
        book.update_id = update_id
        eng._books[m.symbol] = book
        sym = m.symbol
        for side, rows in ((book.bids, bids), (book.asks, asks)):
            side_const = side.side
            side_code = _SIDE_CODES[side_const]
            levels = side.levels
            level = None
            price = None
            if len(rows) % _ORDER_WIDTH:
                raise SnapshotError("order rows have the wrong width")
            it = iter(rows)
            for (
                oid,
                account,
                flags,
                cid,
                o_price,
                qty,
                remaining,
                executed,
                executed_quote,
                created,
                fee_bps,
            ) in zip(it, it, it, it, it, it, it, it, it, it, it, strict=True):
                if flags & 1 != side_code:
                    raise SnapshotError("order on the wrong side of the book")
                if remaining <= 0:
                    raise SnapshotError("resting order with nothing remaining")
                o = Order(
                    oid,
                    account,
                    sym,
                    side_const,
                    _TYPES[flags >> 1 & 1],
                    _TIFS[flags >> 2 & 3],
                    bool(flags >> 4 & 1),
                    _STPS[flags >> 5 & 3],
                    None if cid < 0 else cid,
                    o_price,
                    qty,
                    None,
                    remaining,
                    executed,
                    executed_quote,
                    _STATUSES[flags >> 7],
                    created,
                    fee_bps,
                )
                if o_price != price:
                    price = o_price
                    if price in levels:
                        raise SnapshotError("book levels out of order")
                    level = Level(price, side_const)
                    levels[price] = level
                else:
                    o.price = level.price
                level.orders.append(o)
                level.total += remaining
                orders_index[oid] = o
                ao = acct_orders.get(account)
                if ao is None:
                    acct_orders[account] = {oid: o}
                else:
                    ao[oid] = o
                if cid >= 0:
                    client_ids[account << 32 | cid] = o
            side.prices = SortedList(levels)
            if side.prices:
                side.best = side.prices[-1] if side.is_bid else side.prices[0]
    accounts = eng.ledger.accounts
    for account, asset, available, locked in balances:
        a = accounts.get(account)
        if a is None:
            a = accounts[account] = {}
        a[asset] = Balance(account, asset, available, locked)
    eng._tx_ids = set(tx_ids)
    eng.snapshot_extra = extra
    return eng
