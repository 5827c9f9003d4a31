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

_CONST = {
    s: s
    for s in (
        BID,
        ASK,
        LIMIT,
        MARKET,
        GTC,
        IOC,
        FOK,
        REJECT_TAKER,
        REJECT_MAKER,
        REJECT_BOTH,
        NEW,
        PARTIALLY_FILLED,
    )
}


class SnapshotError(ValueError):
    """A snapshot that cannot be restored: bad magic, version, length, checksum or payload."""


def _side_orders(side) -> list:
    out = []
    append = out.append
    for level in side.iter_levels():
        for o in level.live_orders():
            append(o.to_tuple())
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
    return marshal.dumps(_state(engine, extra), 4)


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
    const = _CONST
    for mt, last_trade_id, update_id, bids, asks in markets:
        m = Market.from_tuple(mt)
        m.validate()  # also interns the state string
        eng.markets[m.symbol] = m
        book = Book(m.symbol)
        book.last_trade_id = last_trade_id
        book.update_id = update_id
        eng._books[m.symbol] = book
        sym = m.symbol
        for side, rows in ((book.bids, bids), (book.asks, asks)):
            side_const = side.side
            levels = side.levels
            level = None
            price = None
            for t in rows:
                o = Order(*t)
                o.market = sym
                if const[o.side] is not side_const:
                    raise SnapshotError("order on the wrong side of the book")
                o.side = side_const
                o.order_type = const[o.order_type]
                o.time_in_force = const[o.time_in_force]
                o.stp = const[o.stp]
                o.status = const[o.status]
                if o.price != price:
                    price = o.price
                    if price in levels:
                        raise SnapshotError("book levels out of order")
                    level = Level(price, side_const)
                    levels[price] = level
                o.price = level.price
                level.orders.append(o)
                level.total += o.remaining
                oid = o.order_id
                orders_index[oid] = o
                ao = acct_orders.get(o.account)
                if ao is None:
                    acct_orders[o.account] = {oid: o}
                else:
                    ao[oid] = o
                if o.client_id is not None:
                    client_ids[o.account << 32 | o.client_id] = o
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
