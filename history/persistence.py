"""Writing the engine's events to the database: orders, fills, trades, ledger entries,
deposits/withdrawals, and the candles built from the trades.

``persist_events(events)`` takes one batch (``event_to_dict`` form, in seq order) and writes it
in ONE transaction, one bulk write per table. On PostgreSQL that is a binary COPY: straight into
the table (under a savepoint) when none of the rows exists yet, which is the normal case, else
into a temporary staging table followed by ``INSERT ... SELECT ... ON CONFLICT``; on SQLite an
``executemany`` of ``INSERT ... ON CONFLICT``. Every write is idempotent on the event ids:

* orders: upsert keyed on the order id, applied only if the event's seq is newer than the row's
  ``last_seq`` (an old event delivered late never overwrites a newer state);
* fills: keyed by the event seq; trades: unique on (market, trade id); ledger entries: keyed by
  ``seq * 8 + place`` (``ledger_id``); transfers: unique on the tx id — a row that exists is
  skipped;
* candles: only the trades this transaction actually inserted are merged, in the same
  transaction (see ``history.candles``).

So a batch delivered twice, replayed after an engine restart, or written by two workers at once
changes nothing the second time, and a worker killed mid-batch leaves nothing behind (the
transaction rolls back; the broker redelivers the unacknowledged message).

Ledger entries of a trade (fees are in ``fee_asset``, the quote asset): buyer ``+base``
``-quote`` (cause trade) and ``-buyer_fee`` (fee); seller ``-base`` ``+quote`` (trade) and
``-seller_fee`` (fee); fee account 0 ``+buyer_fee+seller_fee`` (fee). Zero amounts are not
written. Amounts are integers in the asset's smallest unit.
"""

from __future__ import annotations

import functools
import logging
import operator
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, OperationalError, connection, transaction

from contract import persist_batch
from contract.intervals import INTERVAL_NAMES
from contract.wire import MarketFormat
from engine.core import units
from engine.core.messages import FEE_ACCOUNT

from . import candles
from .models import Checkpoint, Fill, LedgerEntry, Order, Trade, Transfer, market_model

log = logging.getLogger(__name__)


class UnknownMarket(LookupError):
    """An event names a market with no database row (yet): the batch must be retried later."""


@dataclass(frozen=True, slots=True)
class MarketInfo:
    id: int
    symbol: str
    base: str
    quote: str
    base_per_lot: int
    fmt: MarketFormat


class _Directory:
    """Per-process caches of what never changes once it exists: market symbol -> row facts
    (tick/step sizes and asset decimals are fixed for a market's life) and the user ids known
    to exist (users are never deleted: orders protect them)."""

    def __init__(self) -> None:
        self.markets: dict[str, MarketInfo] = {}
        self.users: set[int] = set()

    def market(self, symbol: str) -> MarketInfo:
        info = self.markets.get(symbol)
        if info is None:
            self.load_markets({symbol})
            info = self.markets[symbol]
        return info

    def load_markets(self, symbols: set[str]) -> None:
        missing = symbols - self.markets.keys()
        if not missing:
            return
        for m in market_model().objects.select_related("base", "quote").filter(symbol__in=missing):
            self.markets[m.symbol] = MarketInfo(
                id=m.pk,
                symbol=m.symbol,
                base=m.base.symbol,
                quote=m.quote.symbol,
                base_per_lot=units.base_per_lot(Decimal(m.step_size), m.base.decimals),
                fmt=MarketFormat.of(m),
            )
        unknown = missing - self.markets.keys()
        if unknown:
            raise UnknownMarket(f"no market row for {sorted(unknown)}")

    def existing_users(self, ids: set[int]) -> set[int]:
        from django.contrib.auth import get_user_model

        missing = ids - self.users
        if missing:
            found = get_user_model().objects.filter(pk__in=missing).values_list("pk", flat=True)
            self.users.update(found)
        return ids & self.users

    def clear(self) -> None:
        self.markets.clear()
        self.users.clear()


directory = _Directory()


@dataclass
class BatchResult:
    """What one batch wrote (rows actually inserted, except ``orders``: rows offered to the
    upsert) and the candle rows as they stand after it."""

    events: int = 0
    orders: int = 0
    fills: int = 0
    trades: int = 0
    ledger: int = 0
    transfers: int = 0
    candles: list[tuple] = field(default_factory=list)
    skipped_rows: int = 0  # rows naming an account with no user (logged)
    seconds: float = 0.0
    candle_seconds: float = 0.0


# --- turning events into rows -----------------------------------------------------------------


@dataclass
class _Rows:
    orders: dict[int, tuple] = field(default_factory=dict)  # order_id -> row of the newest seq
    fills: list[tuple] = field(default_factory=list)
    trades: list[tuple] = field(default_factory=list)
    ledger: list[tuple] = field(default_factory=list)  # (id, account, asset, seq, cause, amount, ref, ts)
    transfers: list[tuple] = field(default_factory=list)
    accounts: set[int] = field(default_factory=set)


_TRADE_FIELDS = (
    "seq",
    "ts",
    "market",
    "trade_id",
    "price",
    "quantity",
    "quote_quantity",
    "buyer_order_id",
    "seller_order_id",
    "is_buyer_maker",
    "buyer_account",
    "seller_account",
    "fee_asset",
    "buyer_fee",
    "seller_fee",
)
_ORDER_FIELDS = (
    "seq",
    "market",
    "order_id",
    "account",
    "side",
    "order_type",
    "time_in_force",
    "post_only",
    "self_trade_prevention",
    "client_id",
    "price",
    "quantity",
    "quote_quantity",
    "executed_quantity",
    "executed_quote_quantity",
    "status",
    "created_ts",
    "fee_bps",
    "trigger_price",
    "priority",
)
_FILL_FIELDS = (
    "trade_id",
    "fill_price",
    "fill_quantity",
    "fill_quote_quantity",
    "fee",
    "fee_asset",
    "is_maker",
    "ts",
)
_TRANSFER_FIELDS = ("seq", "ts", "account", "asset", "amount", "tx_id")
# Batches packed by an engine of a release before order events carried these.
_OPTIONAL_ORDER_FIELDS = frozenset({"fee_bps", "trigger_price", "priority"})


LEDGER_IDS_PER_EVENT = 8  # an event writes at most seven ledger entries (a trade with fees)


def ledger_ids(seq: int, entries: list[tuple]) -> list[tuple]:
    """An event's ledger entries ``(account, asset, seq, cause, amount, reference, ts)``, each
    prefixed with its key ``seq * 8 + place`` (``history.models.LedgerEntry``): ``place``
    numbers them in (account, asset, cause) order, so the same event always gets the same keys."""
    entries = sorted(entries, key=_ledger_place)
    base = seq * LEDGER_IDS_PER_EVENT
    return [(base + place, *entry) for place, entry in enumerate(entries)]


def _ledger_place(entry: tuple) -> tuple:
    return entry[0], entry[1], entry[3]


def _trade_ledger(out: list[tuple], trade: tuple, m: MarketInfo) -> None:
    """The ledger rows of one trade (``_TRADE_FIELDS``; see the module docstring), appended to
    ``out``."""
    seq, ts, _, trade_id, _, quantity, quote_amount, _, _, _, buyer, seller, fee_asset, bfee, sfee = trade
    ref = f"{m.symbol}:{trade_id}"
    base_amount = quantity * m.base_per_lot
    rows = [
        (buyer, m.base, seq, "trade", base_amount, ref, ts),
        (buyer, m.quote, seq, "trade", -quote_amount, ref, ts),
        (seller, m.base, seq, "trade", -base_amount, ref, ts),
        (seller, m.quote, seq, "trade", quote_amount, ref, ts),
    ]
    if bfee:
        rows.append((buyer, fee_asset, seq, "fee", -bfee, ref, ts))
    if sfee:
        rows.append((seller, fee_asset, seq, "fee", -sfee, ref, ts))
    if bfee or sfee:
        rows.append((FEE_ACCOUNT, fee_asset, seq, "fee", bfee + sfee, ref, ts))
    if buyer == seller or FEE_ACCOUNT in (buyer, seller):
        # Never produced by the engine (self-trade prevention), but one row per key is what
        # the ledger allows: sum the amounts of an account on both sides.
        summed: dict[tuple, list] = {}
        for r in rows:
            acc = summed.setdefault(r[:4], [0, ref, ts])
            acc[0] += r[4]
        rows = [(*k, *v) for k, v in summed.items()]
    out.extend(ledger_ids(seq, rows))


def _collect(batch: persist_batch.Packed) -> _Rows:
    rows = _Rows()
    market = directory.market
    orders, order_seq = rows.orders, {}
    fills, trades, ledger, accounts = rows.fills, rows.trades, rows.ledger, rows.accounts
    # The same event twice in one batch (a resent batch merged with its original) counts once:
    # the ledger rows of one batch must be unique before they meet the database.
    seen: set[int] = set()
    for trade in persist_batch.rows_of(batch, "Trade", _TRADE_FIELDS):
        seq = trade[0]
        if seq in seen:
            continue
        seen.add(seq)
        m = market(trade[2])
        #          market trade_id  price     quantity  quote     buyer oid seller oid buyer maker ts
        trades.append(
            (m.id, trade[3], trade[4], trade[5], trade[6], trade[7], trade[8], trade[9], trade[1], seq)
        )
        _trade_ledger(ledger, trade, m)
    for kind in persist_batch.ORDER_EVENTS:
        filled = kind == "OrderFilled"
        names = _ORDER_FIELDS + _FILL_FIELDS if filled else _ORDER_FIELDS
        for ev in persist_batch.rows_of(batch, kind, names, optional=_OPTIONAL_ORDER_FIELDS):
            seq, symbol, oid, account = ev[0], ev[1], ev[2], ev[3]
            if seq in seen:
                continue
            seen.add(seq)
            m = market(symbol)
            accounts.add(account)
            if seq > order_seq.get(oid, -1):
                order_seq[oid] = seq
                # _ORDER_COLUMNS: the order's fields with the market's id, seq last
                orders[oid] = (oid, account, m.id, *ev[4:20], seq)
            if filled:
                trade_id, price, quantity, quote, fee, fee_asset, is_maker, ts = ev[20:]
                fills.append(
                    (
                        seq,
                        account,
                        m.id,
                        oid,
                        ev[9],
                        trade_id,
                        ev[4],
                        price,
                        quantity,
                        quote,
                        fee,
                        fee_asset,
                        is_maker,
                        ts,
                    )
                )
    for kind, cause, sign in (("Deposited", "deposit", 1), ("Withdrawn", "withdrawal", -1)):
        for seq, ts, account, asset, amount, tx_id in persist_batch.rows_of(batch, kind, _TRANSFER_FIELDS):
            if seq in seen:
                continue
            seen.add(seq)
            if account != FEE_ACCOUNT:
                accounts.add(account)
            rows.transfers.append((tx_id, cause, account, asset, amount, seq, ts))
            ledger.extend(ledger_ids(seq, [(account, asset, seq, cause, sign * amount, tx_id[:64], ts)]))
    return rows


# --- writing ------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert(
    cur,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple],
    conflict: Sequence[str],
    update: str | None = None,
    returning: Sequence[str] | None = None,
) -> list[tuple] | int:
    """One multi-row ``INSERT ... ON CONFLICT (conflict) DO NOTHING`` (or ``DO UPDATE update``).
    ``columns`` are (name, PostgreSQL type). With ``returning`` (PostgreSQL only) returns the
    inserted rows' columns, otherwise the number of rows reported by the database."""
    names = ", ".join(_q(c) for c, _ in columns)
    action = f"DO UPDATE SET {update}" if update else "DO NOTHING"
    keys = ", ".join(_q(c) for c in conflict)
    on_conflict = f"ON CONFLICT ({keys}) {action}"
    if connection.vendor == "postgresql":
        if not update and _copy_if_all_new(cur, table, columns, rows):
            if not returning:
                return len(rows)
            names_at = [c for c, _ in columns]
            pick = operator.itemgetter(*(names_at.index(n) for n in returning))
            return [pick(r) for r in rows]
        stage = _stage(cur, table, columns, rows)
        # ORDER BY the conflict key: concurrent workers lock rows in one global order.
        sql = f"INSERT INTO {_q(table)} ({names}) SELECT {names} FROM {stage} ORDER BY {keys} {on_conflict}"
        if returning:
            cur.execute(sql + " RETURNING " + ", ".join(_q(c) for c in returning))
            return cur.fetchall()
        cur.execute(sql)
        return cur.rowcount
    sql = f"INSERT INTO {_q(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))}) {on_conflict}"
    before = connection.connection.total_changes
    cur.executemany(sql, rows)
    return connection.connection.total_changes - before


def _copy_if_all_new(cur, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple]) -> bool:
    """The fast path: a binary COPY straight into ``table``, inside a savepoint. It succeeds
    when no row is there yet — the normal case, a batch seen for the first time — at about
    twice the speed of staging and ``INSERT ... ON CONFLICT``. If any row exists (a redelivered
    or replayed batch, or a concurrent worker that committed it first: the unique index makes
    us wait for it), the savepoint is rolled back and the caller takes the idempotent path."""
    try:
        with transaction.atomic():
            _copy_rows(cur, _q(table), columns, rows)
        return True
    except IntegrityError:
        return False


def _copy_rows(cur, target: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple]) -> None:
    """A binary COPY of ``rows`` into ``target`` (a quoted table name) on the driver's cursor
    under Django's wrapper (same connection, same transaction): rows are encoded in C, not
    quoted into SQL text. The driver's errors come out as Django's, as from ``cur.execute``:
    a deadlock or a lost connection is an ``OperationalError`` (retryable), a duplicate key an
    ``IntegrityError``."""
    with connection.wrap_database_errors:
        with cur.cursor.copy(
            f"COPY {target} ({', '.join(_q(c) for c, _ in columns)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_types(columns))
            for row in rows:
                copy.write_row(row)


def _stage(cur, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple]) -> str:
    """Load ``rows`` into this session's temporary staging table for ``table`` with a binary
    COPY and return its name. The table lives as long as the connection and is emptied at each
    commit; it is also emptied before each use, so rows of an earlier batch whose transaction
    did not commit (a test's) never count."""
    stage = _q(f"stage_{table}")
    # Created in every transaction that needs it (a no-op when it exists): a table created in a
    # transaction that then rolled back is gone, so "created once" cannot be remembered.
    cols = ", ".join(f"{_q(c)} {t}" for (c, _), t in zip(columns, _types(columns), strict=True))
    cur.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({cols}) ON COMMIT DELETE ROWS")
    cur.execute(f"DELETE FROM {stage}")
    _copy_rows(cur, stage, columns, rows)
    return stage


# The user id column's type follows the user model's primary key (``integer`` for Django's
# own User): a binary COPY must send exactly the column's type.
USER_ID = "user-id"


@functools.cache
def _user_id_type() -> str:
    from django.contrib.auth import get_user_model

    return get_user_model()._meta.pk.rel_db_type(connection)


def _types(columns: Sequence[tuple[str, str]]) -> list[str]:
    return [_user_id_type() if t == USER_ID else t for _, t in columns]


_ORDER_COLUMNS = [
    ("order_id", "bigint"),
    ("user_id", USER_ID),
    ("market_id", "bigint"),
    ("side", "text"),
    ("order_type", "text"),
    ("time_in_force", "text"),
    ("post_only", "boolean"),
    ("self_trade_prevention", "text"),
    ("client_id", "bigint"),
    ("price", "bigint"),
    ("quantity", "bigint"),
    ("quote_quantity", "bigint"),
    ("executed_quantity", "bigint"),
    ("executed_quote_quantity", "bigint"),
    ("status", "text"),
    ("created_ts", "bigint"),
    ("fee_bps", "integer"),
    ("trigger_price", "bigint"),
    ("priority", "bigint"),
    ("last_seq", "bigint"),
]
_FILL_COLUMNS = [
    ("seq", "bigint"),
    ("user_id", USER_ID),
    ("market_id", "bigint"),
    ("order_id", "bigint"),
    ("client_id", "bigint"),
    ("trade_id", "bigint"),
    ("side", "text"),
    ("price", "bigint"),
    ("quantity", "bigint"),
    ("quote_quantity", "bigint"),
    ("fee", "bigint"),
    ("fee_asset", "text"),
    ("is_maker", "boolean"),
    ("ts", "bigint"),
]
_TRADE_COLUMNS = [
    ("market_id", "bigint"),
    ("trade_id", "bigint"),
    ("price", "bigint"),
    ("quantity", "bigint"),
    ("quote_quantity", "bigint"),
    ("buyer_order_id", "bigint"),
    ("seller_order_id", "bigint"),
    ("is_buyer_maker", "boolean"),
    ("ts", "bigint"),
    ("seq", "bigint"),
]
_LEDGER_COLUMNS = [
    ("id", "bigint"),
    ("account", "bigint"),
    ("asset", "text"),
    ("seq", "bigint"),
    ("cause", "text"),
    ("amount", "bigint"),
    ("reference", "text"),
    ("ts", "bigint"),
]
_TRANSFER_COLUMNS = [
    ("tx_id", "text"),
    ("kind", "text"),
    ("user_id", USER_ID),
    ("account", "bigint"),
    ("asset", "text"),
    ("amount", "bigint"),
    ("seq", "bigint"),
    ("ts", "bigint"),
]


def _write_orders(cur, rows: list[tuple]) -> int:
    t = _q(Order._meta.db_table)
    update = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c, _ in _ORDER_COLUMNS[1:])
    # Only a newer event may change the row: events can arrive late or twice.
    update += f" WHERE {t}.{_q('last_seq')} < excluded.{_q('last_seq')}"
    return _insert(cur, Order._meta.db_table, _ORDER_COLUMNS, rows, ["order_id"], update=update)


def _new_trades(cur, rows: list[tuple]) -> list[tuple]:
    """Insert trades; return ``(market_id, trade_id, ts, price, quantity, quote_quantity)`` of
    those this call inserted (not those already there)."""
    table = Trade._meta.db_table
    if connection.vendor == "postgresql":
        returned = _insert(
            cur,
            table,
            _TRADE_COLUMNS,
            rows,
            ["market_id", "trade_id"],
            returning=["market_id", "trade_id", "ts", "price", "quantity", "quote_quantity"],
        )
        return [tuple(r) for r in returned]
    # SQLite: the transaction holds the database's write lock (BEGIN IMMEDIATE), so what is
    # not there now is exactly what this insert adds.
    existing: set[tuple[int, int]] = set()
    by_market: dict[int, list[int]] = {}
    for r in rows:
        by_market.setdefault(r[0], []).append(r[1])
    for market_id, ids in by_market.items():
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cur.execute(
                f"SELECT trade_id FROM {_q(table)} WHERE market_id = %s AND trade_id IN "
                f"({', '.join(['%s'] * len(chunk))})",
                [market_id, *chunk],
            )
            existing.update((market_id, tid) for (tid,) in cur.fetchall())
    fresh, seen = [], set(existing)
    for r in rows:
        if (r[0], r[1]) not in seen:
            seen.add((r[0], r[1]))
            fresh.append(r)
    if fresh:
        _insert(cur, table, _TRADE_COLUMNS, fresh, ["market_id", "trade_id"])
    return [(r[0], r[1], r[8], r[2], r[3], r[4]) for r in fresh]


def persist_events(batch: persist_batch.Packed | Sequence[dict]) -> BatchResult:
    """Write one batch of engine events (see the module docstring): packed as the engine sends
    it (``contract.persist_batch``), or a list of ``event_to_dict`` dicts. Raises
    ``UnknownMarket`` when an event names a market the database does not have yet (retry
    later) and lets database errors through (retry: nothing was written)."""
    started = time.perf_counter()
    if persist_batch.is_packed(batch):
        result = BatchResult(events=persist_batch.count(batch))
    else:
        result = BatchResult(events=len(batch))
        batch = persist_batch.pack(batch)
    rows = _collect(batch)  # raises UnknownMarket before anything is written
    users = directory.existing_users(rows.accounts) if rows.accounts else set()

    orders = [r for r in rows.orders.values() if r[1] in users]
    fills = [r for r in rows.fills if r[1] in users]
    # A transfer of the fee account (or of an account without a user row) keeps its account
    # id; only the user link is left empty.
    transfers = [
        (tx, kind, acct if acct in users else None, acct, asset, amount, seq, ts)
        for tx, kind, acct, asset, amount, seq, ts in rows.transfers
    ]
    skipped = (len(rows.orders) - len(orders)) + (len(rows.fills) - len(fills))
    if skipped:
        log.error("persistence: %d order/fill rows name accounts without a user; not written", skipped)
    result.skipped_rows = skipped

    # A fixed order of tables, and rows sorted by key within each, so that concurrent workers
    # take row locks in the same order and never deadlock on each other.
    orders.sort()
    fills.sort()
    trades = sorted(rows.trades)
    ledger = sorted(rows.ledger)
    transfers.sort()
    with transaction.atomic(), connection.cursor() as cur:
        if orders:
            result.orders = _write_orders(cur, orders)
        if fills:
            result.fills = _insert(cur, Fill._meta.db_table, _FILL_COLUMNS, fills, ["seq"])
        new_trades = _new_trades(cur, trades) if trades else []
        result.trades = len(new_trades)
        if ledger:
            result.ledger = _insert(cur, LedgerEntry._meta.db_table, _LEDGER_COLUMNS, ledger, ["id"])
        if transfers:
            result.transfers = _insert(cur, Transfer._meta.db_table, _TRANSFER_COLUMNS, transfers, ["tx_id"])
        if new_trades:
            t0 = time.perf_counter()
            result.candles = candles.upsert(candles.aggregate(new_trades))
            result.candle_seconds = time.perf_counter() - t0
        _record_checkpoint(batch)
    result.seconds = time.perf_counter() - started
    return result


def _record_checkpoint(batch: persist_batch.Packed) -> None:
    """The batch's place in the engine's history (``history.models.Checkpoint``), in the
    transaction of its events. Batches handed over by tools standing in for the engine have
    none."""
    coverage = batch.get("coverage")
    if coverage is None:
        return
    checkpoint = batch.get("checkpoint")
    state = None
    if checkpoint is not None:
        state = {k: checkpoint[k] for k in ("last_order_id", "books", "assets", "markets")}
    Checkpoint.objects.bulk_create(
        [
            Checkpoint(
                from_seq=coverage[0],
                seq=coverage[1],
                stream_id=checkpoint["stream_id"] if checkpoint else "",
                state=state,
            )
        ],
        ignore_conflicts=True,
    )


def is_retryable(exc: BaseException) -> bool:
    """Errors after which running the same batch again can succeed: the database unreachable
    or restarting, a deadlock or serialization failure, a market row not created yet."""
    return isinstance(exc, (OperationalError, UnknownMarket))


def kline_frames(result: BatchResult, now_ms: int | None = None) -> list[dict]:
    """The websocket kline frames for the open candles a batch changed. A candle already over
    by this worker's clock gets none: its final frame comes from ``closed_kline_frames``.

    Edges left: a worker that reads its clock just before a bucket's end and publishes just
    after another worker published that candle's final frame sends an ``X: false`` frame after
    the final one (same ``t``, a few milliseconds' window). A trade reaching a bucket the engine
    already closed by its clock (only when that clock runs ``CLOSE_GRACE_MS`` ahead of the Redis
    clock stamping commands) makes the engine close the bucket again: a corrected final frame."""
    if not result.candles:
        return []
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    formats = {info.id: info.fmt for info in directory.markets.values()}
    return candles.open_kline_frames(result.candles, formats, now_ms)


def _holds_its_trades(row: Sequence[int], close: dict) -> bool:
    """Whether a candle row holds every trade the engine put in it. Trade ids are sequential
    per market and trade times never decrease, so the bucket's trades are exactly the ids from
    its first to its last: counting them also catches an earlier batch still missing when a
    later one was written first (workers run batches concurrently)."""
    first, last = close["first_trade_id"], close["last_trade_id"]
    if row[11] < last:
        return False
    return first is None or row[9] >= last - first + 1


def closed_kline_frames(closes: Sequence[dict], now_ms: int | None = None) -> tuple[list[dict], list[dict]]:
    """The final (``X: true``) kline frames of candles the engine saw close (``closes`` as
    ``engine.publisher.ClosedCandle.message`` makes them), and the closes whose trades are not
    all in the database yet: their batch is still queued or being written, so ask again later."""
    if not closes:
        return [], []
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    directory.load_markets({c["symbol"] for c in closes})
    keyed = [((directory.market(c["symbol"]).id, c["interval"], c["open_time"]), c) for c in closes]
    rows = {row[:3]: row for row in candles.read_rows(key for key, _ in keyed)}
    ready, pending = [], []
    for key, close in keyed:
        row = rows.get(key)
        if row is not None and _holds_its_trades(row, close):
            ready.append(row)
        else:
            pending.append(close)
    ready.sort(key=lambda r: (r[0], INTERVAL_NAMES.index(r[1]), r[2]))
    fmt = {info.id: info.fmt for info in directory.markets.values()}
    return [candles.kline_frame(fmt[r[0]], r, now_ms, closed=True) for r in ready], pending
