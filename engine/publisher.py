"""Everything the engine tells the world leaves through here (the Zulip "actions" idea).

Per loop iteration the process hands over each applied command's events; ``flush`` then, in
this order:
1. one fenced script (``engine.redis_batch``: nothing is written unless the engine still holds
   its lease) that updates the market-data cache (depth with its update id, tickers, recent
   trades, balances, open orders), pushes the replies, PUBLISHes the public frames on Redis
   pub/sub (plain JSON, for any language), and puts the persistence batches into the outbox
   (``contract.persist_outbox``) — so a reply is never visible before the state it promises. It
   goes alone or with the engine's next read behind it in the same write;
2. the channel layer's frames (websocket fan-out), one message per group, never one per event:
   inside that script when the layer lives on the engine's Redis (``engine.layer_frames``),
   else one ``group_send`` per group after it (frames are packed and sent as
   ``contract.frames`` says, the one way every process sends them);
3. once the script has landed and those frames are out, one Celery task per persistence batch
   (every ``PERSIST_EVERY_S`` or ``PERSIST_MAX_EVENTS`` events), carrying the batch's outbox id,
   and the candles that closed (``CandleCloser``) to the ``persistence.close_candles`` task,
   each after the batch holding its trades. The worker publishes the kline frames of a batch
   after writing it, so they always follow the trade frames of the trades they include. The
   engine never imports the worker's code: it is handed the function that queues a batch's
   task (``send_persist_task``) and sends the close task by name (``contract.names``).

Each persistence batch says which events it covers (``coverage``: the seq range it holds every
persisted event of) and, when it ends where a command ended, the engine's counters there
(``checkpoint``: stream id, seq, order id, the books' trade and update ids and the definitions
that changed since the previous checkpoint). The database keeps them (``history``), so it can
rebuild the engine's state at any checkpoint it holds every batch up to.
Output pacing (ticker once a second, aggregated depth) uses the wall clock: it shapes delivery
only, never the engine's state.
"""

from __future__ import annotations

import itertools
import logging
import math
import operator
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from contract import frames as stream_frames
from contract import jsonfast, md_cache, persist_batch, wire
from contract.intervals import INTERVALS, Interval
from contract.names import CLOSE_CANDLES_TASK, REPLY_TTL_S, balance_group, order_group
from contract.persist_outbox import Outbox
from engine import layer_frames, redis_batch
from engine.commandlog import START
from engine.core.codec import event_to_dict
from engine.core.messages import (
    BID,
    NEW,
    PARTIALLY_FILLED,
    TRIGGER_PENDING,
    AssetAdded,
    BalanceChanged,
    DepthChanged,
    MarketChanged,
    OrderEvent,
    OrderFilled,
    Rejected,
    Trade,
)
from engine.lease import Lease
from engine.ticker import RollingTicker

log = logging.getLogger(__name__)

PERSIST_EVERY_S = 0.1
PERSIST_MAX_EVENTS = 20000  # larger batches persist 1.4-2.8x faster (bench/persist_load.py)
TICKER_EVERY_S = 1.0
# A market that stops trading must still see its 24 h window roll forward in the cache.
TICKER_REFRESH_IDLE_S = 10.0
AGGREGATED_DEPTH_MS = (200, 1000)
# How far the engine host's clock may run ahead of the Redis clock that stamps the commands.
CLOSE_GRACE_MS = 250

OPEN_STATUSES = {NEW, PARTIALLY_FILLED, TRIGGER_PENDING}
# Events a reply leaves out: the caller reads balances and the book from the cache instead.
NOT_IN_REPLY = (DepthChanged, BalanceChanged)


@dataclass(slots=True)
class Outgoing:
    """One prepared flush: the writes (cache, replies, pub/sub, persistence batches), to run as
    one fenced script, channel-layer frames, and what to hand to Celery once the script has
    landed, in order: ``("persist", events)`` per persistence batch (its outbox id comes with
    the script's reply) and ``("close", closes)``."""

    commands: redis_batch.CommandBatch
    frames: dict[str, list[dict]]
    handoffs: list[tuple[str, list[dict]]]


class _DepthDelta:
    """Level changes of one market accumulated over a period: first/last update id, final qty."""

    __slots__ = ("first", "last", "bids", "asks", "ts")

    def __init__(self) -> None:
        self.first = 0
        self.last = 0
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.ts = 0

    def add(self, ev: DepthChanged) -> None:
        if not self.first:
            self.first = ev.update_id
        self.last = ev.update_id
        (self.bids if ev.side == BID else self.asks)[ev.price] = ev.quantity
        self.ts = ev.ts

    def merge(self, later: _DepthDelta) -> None:
        """Fold in the changes of the period that followed this one."""
        if not self.first:
            self.first = later.first
        self.last = later.last
        self.bids.update(later.bids)
        self.asks.update(later.asks)
        self.ts = later.ts

    def frame(self, fmt: wire.MarketFormat) -> dict:
        bids = sorted(self.bids.items())
        asks = sorted(self.asks.items())
        return wire.depth_stream(fmt, self.ts, bids, asks, self.first, self.last)


_ts = operator.itemgetter("ts")
_NOT_DEFINITION = frozenset({"type", "seq", "ts"})


@dataclass(slots=True)
class _Bucket:
    start: int
    end: int
    first_id: int | None  # None: the bucket may have begun before the engine started
    last_id: int


@dataclass(frozen=True, slots=True)
class ClosedCandle:
    """A bucket of a market that is over: ``[open_time, end)``, holding trades first..last id."""

    symbol: str
    interval: str
    open_time: int
    end: int
    first_trade_id: int | None
    last_trade_id: int

    def message(self) -> dict:
        """The task's argument: which candle, and which trades it must hold before its final frame."""
        return {
            "symbol": self.symbol,
            "interval": self.interval,
            "open_time": self.open_time,
            "first_trade_id": self.first_trade_id,
            "last_trade_id": self.last_trade_id,
        }


class CandleCloser:
    """Which candles are over, so that a worker can publish their final (``X: true``) frame.

    Per market and interval it remembers the bucket of the market's latest trade, updated once
    per flush from that flush's trades (not per trade: the loop is hot). A bucket is over when a
    later trade of the market falls in a later bucket, or when ``due`` is told a time at or past
    its end. The memory is lost when the engine restarts: buckets left open then never get a
    final frame, except those whose trades the restart replays.
    """

    def __init__(self, intervals: Iterable[Interval] | None = None) -> None:
        self.intervals: tuple[Interval, ...] = tuple(INTERVALS.values() if intervals is None else intervals)
        self._open: dict[str, dict[str, _Bucket]] = {}  # symbol -> interval name -> bucket
        self._closed: list[ClosedCandle] = []  # over because a later trade came
        self.next_end: float = math.inf  # the earliest end among the open buckets

    def add_trades(self, symbol: str, trades: Sequence[dict]) -> None:
        """Take one flush's trades of ``symbol`` (event dicts, in trade id order)."""
        if not trades:
            return
        seen = symbol in self._open  # a trade since the engine started (its buckets may be closed)
        known = self._open.setdefault(symbol, {})
        latest = trades[-1]
        ts, trade_id = latest["ts"], latest["trade_id"]
        for iv in self.intervals:
            bucket = known.get(iv.name)
            if bucket is not None and ts < bucket.end:
                bucket.last_id = trade_id
            else:
                self._roll(symbol, iv, trades, known, bucket, seen)

    def _roll(
        self, symbol: str, iv: Interval, trades: Sequence[dict], known: dict, prev: _Bucket | None, seen: bool
    ) -> None:
        """The flush's trades reach past the remembered bucket: find the flush's buckets, newest
        first, by bisecting on the trade time (trade times never decrease)."""
        found: list[_Bucket] = []
        hi = len(trades)
        start = iv.start(trades[-1]["ts"])
        while True:
            lo = bisect_left(trades, start, 0, hi, key=_ts)
            last_id = trades[hi - 1]["trade_id"]
            if lo > 0:
                found.append(_Bucket(start, iv.end(start), trades[lo]["trade_id"], last_id))
                hi = lo
                start = iv.start(trades[lo - 1]["ts"])
                continue
            if prev is not None and prev.start == start:  # began in an earlier flush
                first_id = prev.first_id
                prev = None
            else:
                first_id = trades[0]["trade_id"] if seen else None
            found.append(_Bucket(start, iv.end(start), first_id, last_id))
            break
        if prev is not None:
            self._closed.append(self._candle(symbol, iv.name, prev))
        self._closed.extend(self._candle(symbol, iv.name, b) for b in reversed(found[1:]))
        newest = known[iv.name] = found[0]
        if newest.end < self.next_end:
            self.next_end = newest.end

    @staticmethod
    def _candle(symbol: str, interval: str, b: _Bucket) -> ClosedCandle:
        return ClosedCandle(symbol, interval, b.start, b.end, b.first_id, b.last_id)

    def due(self, now_ms: int) -> list[ClosedCandle]:
        """The candles over by ``now_ms`` not handed out before, oldest end first; forgets them."""
        if now_ms < self.next_end and not self._closed:
            return []  # every flush asks: this is the answer almost always
        out, self._closed = self._closed, []
        if now_ms >= self.next_end:
            next_end = math.inf
            for symbol, known in self._open.items():
                for name, bucket in list(known.items()):
                    if bucket.end <= now_ms:
                        out.append(self._candle(symbol, name, bucket))
                        del known[name]
                    elif bucket.end < next_end:
                        next_end = bucket.end
            self.next_end = next_end
        out.sort(key=operator.attrgetter("end"))
        return out


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def send_close_candles_task(closes: list[dict]) -> None:
    from exchange_site.celery import app

    app.send_task(CLOSE_CANDLES_TASK, args=[closes])


class Publisher:
    """Collects what each applied command emitted and sends it out once per loop iteration.
    Built in the event loop that sends its flushes: a channel layer keeps its state per loop
    (``engine.layer_frames``)."""

    def __init__(
        self,
        engine,
        redis,
        channel_layer,
        lease: Lease,
        send_persist_task: Callable[[str, list[dict]], None],
        tickers: dict[str, RollingTicker],
        send_close_candles: Callable[[list[dict]], None] = send_close_candles_task,
        clock_ms: Callable[[], int] = _wall_ms,
        intervals: Iterable[Interval] | None = None,
        applied_through: str = START,
        *,
        outbox: Outbox,
    ):
        """``send_persist_task(entry_id, events)``: tell persistence that a batch (those events)
        waits in ``outbox`` under ``entry_id``. ``applied_through``: the stream id of the last
        command the engine's state holds (its snapshot's), where the first batch begins."""
        self.engine = engine
        self.redis = redis
        self.lease = lease
        self.link = redis_batch.Link(redis)  # the flushes' connection; see send
        self.channel_layer = channel_layer
        # None: the frames go through group_send (see engine.layer_frames).
        self._group_channel = layer_frames.group_channel_namer(channel_layer, redis)
        self.send_persist_task = send_persist_task
        self.outbox = outbox
        self.send_close_candles = send_close_candles
        self.clock_ms = clock_ms
        self.candle_closer = CandleCloser(intervals)
        self.tickers = tickers
        self._formats: dict[str, wire.MarketFormat] = {}
        self._ticker_pushed_at: dict[str, float] = {}
        self._book_tops: dict[str, tuple] = {}
        self._aggregated: dict[int, dict[str, _DepthDelta]] = {ms: {} for ms in AGGREGATED_DEPTH_MS}
        self._aggregated_flushed_at: dict[int, float] = {ms: time.monotonic() for ms in AGGREGATED_DEPTH_MS}
        self._persist_buffer: list[dict] = []
        self._persist_flushed_at = time.monotonic()
        # The stream id of the last command applied (the process sets it before each prepare).
        self.applied_through = applied_through
        # Persistence: the seq up to which batches were handed over, the stream id of the last
        # checkpoint (a replay from it regenerates every batch after it), and what changed since.
        self._handed_through = engine.last_seq
        self._replay_from = applied_through
        self._touched_books: set[str] = set()
        self._changed_assets: dict[str, int] = {}
        self._changed_markets: dict[str, dict] = {}
        self.last_ts = 0  # the newest event time seen: "now" for the rolling tickers
        self.private_accounts: set[int] = set()
        self._idle_refresh_at = time.monotonic()
        self._reset_batch()

    # --- collecting ---------------------------------------------------------------------

    def _reset_batch(self) -> None:
        self.replies: list[tuple[bytes | str, list[dict]]] = []  # (reply key, events)
        self.depth: dict[str, _DepthDelta] = {}
        self.trades: dict[str, list[dict]] = defaultdict(list)
        self.order_updates: dict[int, dict[int, dict]] = defaultdict(dict)  # account -> id -> last
        self.order_frames: dict[int, list[dict]] = defaultdict(list)
        self.fills: dict[int, list[dict]] = defaultdict(list)  # account -> OrderFilled events
        self.balances: dict[int, dict[str, dict]] = defaultdict(dict)
        self.traded_markets: set[str] = set()
        self.applied = False  # a command gave events since the last flush: not idle

    def market_format(self, symbol: str) -> wire.MarketFormat:
        fmt = self._formats.get(symbol)
        if fmt is None:
            m = self.engine.markets[symbol]
            fmt = wire.MarketFormat(
                symbol=symbol,
                base=m.base,
                quote=m.quote,
                tick_size=Decimal(m.tick_size),
                step_size=Decimal(m.step_size),
                base_decimals=self.engine.assets[m.base],
                quote_decimals=self.engine.assets[m.quote],
            )
            self._formats[symbol] = fmt
        return fmt

    def collect(self, events: list, reply_to: bytes | str | None) -> None:
        """Take one applied command's events (core event objects).

        Depth and balance changes are consumed here as objects: they feed the cache and the
        streams but are neither persisted nor part of the reply. Every other event becomes one
        dict, shared by the reply and the persistence batch.
        """
        reply: list[dict] = []
        for ev in events:
            cls = type(ev)
            if cls is DepthChanged:
                sym = ev.market
                delta = self.depth.get(sym)
                if delta is None:
                    delta = self.depth[sym] = _DepthDelta()
                delta.add(ev)  # the aggregated streams take the whole batch's delta in flush()
                continue
            if cls is BalanceChanged:
                self.balances[ev.account][ev.asset] = ev
                continue
            d = event_to_dict(ev)
            reply.append(d)
            if cls is not Rejected:
                self._persist_buffer.append(d)
            if issubclass(cls, OrderEvent):
                self.order_updates[ev.account][ev.order_id] = d
                self.order_frames[ev.account].append(d)
                if cls is OrderFilled:
                    self.fills[ev.account].append(d)
            elif cls is Trade:
                sym = ev.market
                self.trades[sym].append(d)
                self._ticker(sym).add_trade(ev.ts, ev.price, ev.quantity, ev.quote_quantity)
                self.traded_markets.add(sym)
            elif cls is MarketChanged:
                self._formats.pop(ev.symbol, None)
                self._changed_markets[ev.symbol] = {k: v for k, v in d.items() if k not in _NOT_DEFINITION}
            elif cls is AssetAdded:
                self._changed_assets[ev.symbol] = ev.decimals
        if events:
            self.last_ts = events[-1].ts
            self.applied = True
        if reply_to:
            self.replies.append((reply_to, reply))

    def _ticker(self, symbol: str) -> RollingTicker:
        ticker = self.tickers.get(symbol)
        if ticker is None:
            ticker = self.tickers[symbol] = RollingTicker()
        return ticker

    # --- flushing -------------------------------------------------------------------------

    async def flush(self, persist_now: bool = False) -> None:
        """Prepare and send at once, for callers with nothing to overlap it with (tests): the
        private frames go to the accounts last given to ``prepare``."""
        await self.send(self.prepare(None, persist_now))

    def prepare(self, listening: Iterable[bytes | str] | None, persist_now: bool = False) -> Outgoing:
        """Render everything collected since the last flush into what goes out, and start a
        new batch: the engine applies the next commands while this one is being sent
        (``send``), so that Redis executing one flush and the engine applying the next batch
        overlap instead of taking turns. Persistence batches are handed over here, before the
        replies go out, which changes nothing for either.

        ``listening``: the accounts with a private subscriber (the fields of
        ``PRIVATE_SUBSCRIBERS_KEY``), read after the batch's commands were: an order placed right
        after its account subscribed must reach that subscription. None: the same as last time.
        ``persist_now``: hand everything over to persistence with a checkpoint, even nothing
        (before a snapshot: the snapshot's point is then a checkpoint the database will hold)."""
        if listening is not None:
            self.private_accounts = {int(a) for a in listening}
        frames: dict[str, list[dict]] = defaultdict(list)  # group/channel -> data list
        public: list[tuple[str, dict]] = []
        pipe = redis_batch.CommandBatch()
        now = time.monotonic()
        idle = not self.applied and not self.replies

        for sym, delta in self.depth.items():
            fmt = self.market_format(sym)
            bids, asks, update_id = self.engine.depth(sym, md_cache.DEPTH_CACHE_LEVELS)
            md_cache.write_depth(pipe, sym, wire.depth_snapshot(fmt, bids, asks, update_id, delta.ts * 1000))
            public.append((f"depth.{sym}", delta.frame(fmt)))
            for per_interval in self._aggregated.values():
                agg = per_interval.get(sym)
                if agg is None:
                    agg = per_interval[sym] = _DepthDelta()
                agg.merge(delta)
            top = (bids[0] if bids else None, asks[0] if asks else None)
            if top != self._book_tops.get(sym):
                self._book_tops[sym] = top
                public.append(
                    (f"bookTicker.{sym}", wire.book_ticker_stream(fmt, delta.ts, top[0], top[1], update_id))
                )

        for sym, trades in self.trades.items():
            self.candle_closer.add_trades(sym, trades)
            fmt = self.market_format(sym)
            md_cache.push_trades(pipe, sym, [wire.trade_rest(fmt, t) for t in trades])
            public.extend((f"trade.{sym}", wire.trade_stream(fmt, t)) for t in trades)

        for sym in list(self.traded_markets):
            last = self._ticker_pushed_at.get(sym, 0.0)
            if now - last >= TICKER_EVERY_S:
                self._ticker_pushed_at[sym] = now
                self.traded_markets.discard(sym)
                ticker = wire.ticker_rest(self.market_format(sym), self._ticker(sym).stats(self.last_ts))
                md_cache.write_ticker(pipe, sym, ticker)
                public.append((f"ticker.{sym}", wire.ticker_stream(ticker, self.last_ts)))
        pending_tickers = set(self.traded_markets)  # throttled: pushed on a later flush
        if now - self._idle_refresh_at >= TICKER_REFRESH_IDLE_S:
            self._idle_refresh_at = now
            wall_ms = time.time_ns() // 1_000_000  # output pacing only: the state is untouched
            for sym, ticker in self.tickers.items():
                if sym not in pending_tickers and sym in self.engine.markets:
                    rendered = wire.ticker_rest(self.market_format(sym), ticker.stats(wall_ms))
                    md_cache.write_ticker(pipe, sym, rendered)

        for interval_ms, per_market in self._aggregated.items():
            if per_market and (now - self._aggregated_flushed_at[interval_ms]) * 1000 >= interval_ms:
                for sym, delta in per_market.items():
                    public.append((f"depth.{interval_ms}ms.{sym}", delta.frame(self.market_format(sym))))
                per_market.clear()
                self._aggregated_flushed_at[interval_ms] = now

        open_orders, recent_orders, recent_fills = {}, {}, {}
        for account, orders in self.order_updates.items():
            upserts, removals, history = {}, [], []
            for oid, ev in orders.items():
                rendered = wire.order_object(self.market_format(ev["market"]), ev)
                if ev["status"] in OPEN_STATUSES:
                    upserts[str(oid)] = rendered
                else:
                    removals.append(str(oid))
                created = ev["created_ts"]
                history.append(
                    (ev["seq"], {"createdTs": created, "order": wire.history_form(rendered, created)})
                )
            open_orders[account] = (upserts, removals)
            recent_orders[account] = history
        assets = self.engine.assets
        for account, fills in self.fills.items():
            recent_fills[account] = [
                (
                    ev["seq"],
                    {
                        "ts": ev["ts"],
                        "fill": wire.fill_object(
                            self.market_format(ev["market"]),
                            trade_id=ev["trade_id"],
                            order_id=ev["order_id"],
                            side=ev["side"],
                            price=ev["fill_price"],
                            quantity=ev["fill_quantity"],
                            fee=ev["fee"],
                            fee_asset=ev["fee_asset"],
                            fee_decimals=assets[ev["fee_asset"]],
                            is_maker=ev["is_maker"],
                            ts=ev["ts"],
                            client_id=ev["client_id"],
                        ),
                    },
                )
                for ev in fills
            ]
        for account, events in self.order_frames.items():
            if account not in self.private_accounts:
                continue
            group = order_group(account)
            frames[group].extend(
                {
                    "stream": "account.orderUpdate",
                    "data": wire.order_update_stream(self.market_format(e["market"]), e),
                }
                for e in events
            )

        balances = {}
        for account, per_asset in self.balances.items():
            rendered = balances[account] = {}
            for asset, ev in per_asset.items():
                decimals = self.engine.assets[asset]
                rendered[asset] = {
                    "available": wire.amount(ev.available, decimals),
                    "locked": wire.amount(ev.locked, decimals),
                    "staked": "0",
                }
                if account in self.private_accounts:
                    data = wire.balance_update_stream(asset, ev.available, ev.locked, ev.ts, decimals)
                    frames[balance_group(account)].append({"stream": "account.balanceUpdate", "data": data})
        md_cache.write_accounts(pipe, open_orders, balances)
        md_cache.write_recent_history(pipe, recent_orders, recent_fills)

        if self.replies:
            pipe.replies(
                ((key, jsonfast.dumps({"events": events})) for key, events in self.replies), REPLY_TTL_S
            )

        if public:
            public_frames = [{"stream": stream, "data": data} for stream, data in public]
            for frame in public_frames:
                frames[frame["stream"]].append(frame)
            pipe.publish(stream_frames.pubsub_args(public_frames))

        if frames and self._group_channel is not None:
            layer_args = []
            for group, items in frames.items():
                layer_args.append(self._group_channel(group))
                layer_args.append(self.channel_layer.serialize(stream_frames.channel_message(items)))
            pipe.publish(layer_args)
            frames = {}
        elif self.channel_layer is None:
            frames = {}  # nowhere to send them; and a flush with frames is not held (EngineProcess)

        self._touched_books.update(self.depth)
        self._reset_batch()
        self.traded_markets = pending_tickers
        handoffs: list[tuple[str, list[dict]]] = []
        self._close_candles(pipe, handoffs, now, idle)
        self._maybe_persist(pipe, handoffs, now, persist_now)
        return Outgoing(pipe, frames, handoffs)

    def full_state(
        self,
        stale_keys: Iterable[str] = (),
        recent_history_keys: Iterable[str] = (),
        accounts_per_flush: int = 1000,
    ) -> list[Outgoing]:
        """The market-data cache rewritten from the engine's whole state, as the flushes to send
        before serving: ``stale_keys`` deleted (cache keys the state may not cover: the
        accounts' hashes, recent trades the state does not know of), the events newer than the
        state cut from ``recent_history_keys`` (replaying the log writes them again if they
        happened, the same), then every market's depth
        and every account's balances and open orders, each account's hashes replaced within one
        script (a reader sees the old or the new). After a restart the cache may hold what a
        lost command wrote, or less than the state: it must not be served as it is."""
        engine = self.engine
        flushes = [redis_batch.CommandBatch()]
        now_us = time.time_ns() // 1000  # when this picture of the books was taken
        stale = sorted(stale_keys)
        for at in range(0, len(stale), 1000):
            flushes[0].call("DEL", *stale[at : at + 1000])
        for key in recent_history_keys:
            flushes[0].call("ZREMRANGEBYSCORE", key, f"({engine.last_seq}", "+inf")
        for sym in engine.markets:
            bids, asks, update_id = engine.depth(sym, md_cache.DEPTH_CACHE_LEVELS)
            md_cache.write_depth(
                flushes[0], sym, wire.depth_snapshot(self.market_format(sym), bids, asks, update_id, now_us)
            )
        accounts = engine.accounts()
        for at in range(0, len(accounts), accounts_per_flush):
            batch = flushes[-1] if at == 0 else redis_batch.CommandBatch()
            for account in accounts[at : at + accounts_per_flush]:
                batch.call("DEL", md_cache.open_orders_key(account), md_cache.balances_key(account))
                orders = {
                    str(o.order_id): wire.order_object(self.market_format(o.market), o.view())
                    for o in engine.open_orders(account)
                }
                balances = {
                    asset: {
                        "available": wire.amount(available, engine.assets[asset]),
                        "locked": wire.amount(locked, engine.assets[asset]),
                        "staked": "0",
                    }
                    for asset, (available, locked) in engine.balances(account).items()
                }
                md_cache.write_accounts(batch, {account: (orders, ())}, {account: balances})
            if at:
                flushes.append(batch)
        return [Outgoing(batch, {}, []) for batch in flushes]

    async def send(self, outgoing: Outgoing, then: Sequence[redis_batch.Command] = ()) -> list:
        """The flush's writes (one fenced script), then the channel-layer frames that the script
        could not carry, then the hand-offs to Celery: so a worker's kline frames, built from a
        batch, follow every frame of the trades in it (``contract.frames``). Flushes must be
        sent in the order they were prepared, one at a time.

        ``then``: commands to send behind the script in the same write (the engine's next read,
        when it is caught up: one round trip instead of two). Returns their replies, errors as
        values; a refused flush raises ``LeaseLost`` (the engine lost its lease: nothing was
        written) or ``FlushFailed``."""
        commands = [outgoing.commands.fenced(self.lease)] if outgoing.commands else []
        replies = await self.link.exchange(commands + list(then)) if commands or then else []
        if outgoing.frames:
            await self._group_send(outgoing.frames)
        if commands:
            _failed, entry_ids = redis_batch.flush_result(replies[0])
            self._announce(outgoing.handoffs, entry_ids)
        return replies[len(commands) :]

    def _announce(self, handoffs: list[tuple[str, list[dict]]], entry_ids: list[str]) -> None:
        ids = iter(entry_ids)
        for kind, item in handoffs:
            if kind == "persist":
                entry_id = next(ids)
                try:
                    self.send_persist_task(entry_id, item)
                except Exception:  # the batch waits in the outbox: a worker queues it again
                    log.warning("could not queue persistence batch %s", entry_id, exc_info=True)
                continue
            try:
                self.send_close_candles(item)
            except Exception:  # a lost final frame must not stop matching; the candle is stored
                log.warning("could not hand over %d closed candles", len(item), exc_info=True)

    def _close_candles(self, batch: redis_batch.CommandBatch, handoffs: list, now: float, idle: bool) -> None:
        # Stream ids only grow, so a command stamped at or after a bucket's end proves that no
        # trade can still land in it. The wall clock counts only after an empty read (the engine
        # is caught up): during a backlog it would close buckets whose trades are still queued.
        now_ms = self.last_ts
        if idle:
            now_ms = max(now_ms, self.clock_ms() - CLOSE_GRACE_MS)
        closing = self.candle_closer.due(now_ms)
        for end, group in itertools.groupby(closing, key=operator.attrgetter("end")):
            # The trades before the end go first, the later ones after: a worker taking tasks in
            # order publishes a candle's final frame before the next candle's first.
            buf = self._persist_buffer
            cut = bisect_left(buf, end, key=_ts)
            if cut:
                self._hand_over(batch, handoffs, buf[:cut], checkpoint=False)
                self._persist_buffer = buf[cut:]
                self._persist_flushed_at = now
            handoffs.append(("close", [c.message() for c in group]))

    async def _group_send(self, frames: dict[str, list[dict]]) -> None:
        messages = {group: stream_frames.channel_message(items) for group, items in frames.items()}
        for failed in (await stream_frames.send(self.channel_layer, messages)).values():
            log.warning("channel layer send failed: %s", failed)

    def _maybe_persist(
        self, batch: redis_batch.CommandBatch, handoffs: list, now: float, force: bool = False
    ) -> None:
        buf = self._persist_buffer
        # Commands that persist nothing (refusals) still move the engine's seq: a checkpoint
        # after them keeps the database's position, and the persistence lag, up to date.
        moved = buf or self.engine.last_seq != self._handed_through
        if moved and (len(buf) >= PERSIST_MAX_EVENTS or now - self._persist_flushed_at >= PERSIST_EVERY_S):
            force = True
        if force and (buf or self.engine.last_seq != self._handed_through or self._changed_assets
                      or self._changed_markets):  # fmt: skip
            self._hand_over(batch, handoffs, buf, checkpoint=True)
            self._persist_buffer = []
            self._persist_flushed_at = now

    def _hand_over(
        self, batch: redis_batch.CommandBatch, handoffs: list, events: list[dict], checkpoint: bool
    ) -> None:
        """Put ``events`` into the flush's outbox writes, with what they cover: up to the engine's
        state now with a checkpoint, else up to their last event (a part cut off at a candle's
        end: the engine has applied later commands already)."""
        engine = self.engine
        to = engine.last_seq if checkpoint else events[-1]["seq"]
        packed = persist_batch.pack(events)
        packed["coverage"] = [self._handed_through, to]
        if checkpoint:
            packed["checkpoint"] = {
                "stream_id": self.applied_through,
                "seq": to,
                "last_order_id": engine.last_order_id,
                "books": {
                    s: list(engine.book_counters(s)) for s in self._touched_books if s in engine.markets
                },
                # Lists, in the order the engine added them: a JSON object's keys lose it in jsonb.
                "assets": list(self._changed_assets.items()),
                "markets": list(self._changed_markets.items()),
            }
        self.outbox.queue(batch, jsonfast.dumps(packed), self._replay_from)
        handoffs.append(("persist", events))
        self._handed_through = to
        if checkpoint:
            self._replay_from = self.applied_through
            self._touched_books = set()
            self._changed_assets = {}
            self._changed_markets = {}
