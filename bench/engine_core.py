#!/usr/bin/env python
"""Engine core benchmark (pure Python, one process, one core).

1. Mixed run: a seeded stream of ``--commands`` (default 1,000,000) commands on one market over a
   book of about 10,000 resting orders: ~55 % new limit orders near the mid price (they rest),
   ~25 % cancels of resting orders, ~15 % limit orders that cross (half GTC, half IOC), ~5 %
   market orders (by quantity, some buys by quote budget). The stream is generated first (with a
   generator engine, so cancels name orders that really rest), then replayed twice, each time on
   a fresh engine: once with nothing but ``apply`` in the loop (commands per second), once with a
   timer around every ``apply`` (mean, p50, p99 per command).
2. Big book: ``--book-orders`` (default 1,000,000) resting orders; bytes per resting order (RSS
   growth / orders), then the time to ``snapshot()`` it and to ``Engine.restore()`` it.

The pre-generated stream (a million command objects) is moved out of the garbage collector's
sight with ``gc.freeze()`` before the timed run (``--no-gc-freeze`` to keep it): in a real engine
commands arrive one by one and are dropped, so full collections over them are an artifact.
Throughput is reported both in wall time (what the JSON carries) and in CPU time of this process,
because on a shared machine the two differ.

The last line printed is one JSON object:
{"mixed_commands_per_s", "mixed_p99_us", "bytes_per_resting_order", "snapshot_s", "restore_s"}.

    .venv/bin/python bench/engine_core.py                 # the full run
    .venv/bin/python bench/engine_core.py --commands 100000 --book-orders 100000   # quick
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import sys
import time
from array import array

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.engine_market import market_commands  # noqa: E402
from engine.core import (  # noqa: E402
    ASK,
    BID,
    FILLED,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    CancelOrder,
    Engine,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    PlaceOrder,
)

SYM = "SOL_USDC"
MID = 14_000  # 140.00 USDC in ticks of 0.01
ACCOUNTS = 1_000
TARGET_BOOK = 10_000
TS0 = 1_700_000_000_000


def new_engine() -> Engine:
    e = Engine()
    for command in market_commands(
        "SOL", "USDC", ts=TS0, base_decimals=9, limit=10**7, fees=(10, 20), accounts=ACCOUNTS, funds=10**15
    ):
        e.apply(command)
    return e


class OpenSet:
    """Resting order ids with O(1) add, remove and uniform random choice."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.pos: dict[int, int] = {}

    def add(self, oid: int) -> None:
        self.pos[oid] = len(self.ids)
        self.ids.append(oid)

    def remove(self, oid: int) -> None:
        i = self.pos.pop(oid, None)
        if i is None:
            return
        last = self.ids.pop()
        if last != oid:
            self.ids[i] = last
            self.pos[last] = i

    def choice(self, rng: random.Random) -> int:
        return self.ids[rng.randrange(len(self.ids))]

    def __len__(self) -> int:
        return len(self.ids)


class Generator:
    """Produces commands against a generator engine, tracking which orders rest."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.e = new_engine()
        self.open = OpenSet()
        self.ts = TS0
        self.kinds = {"passive": 0, "cancel": 0, "cross": 0, "market": 0}

    def _apply(self, cmd) -> list:
        events = self.e.apply(cmd)
        get = self.e.get_order
        for ev in events:
            t = type(ev)
            if t is OrderAccepted:
                pass
            elif t is OrderFilled:
                if ev.is_maker and ev.status == FILLED:
                    self.open.remove(ev.order_id)
            elif t is OrderCancelled:
                self.open.remove(ev.order_id)
        acc = events[0] if events and type(events[0]) is OrderAccepted else None
        if acc is not None and get(acc.order_id) is not None:
            self.open.add(acc.order_id)
        return events

    def passive(self):
        rng = self.rng
        best_bid, best_ask = self.e.best_bid_ask(SYM)
        side = BID if rng.random() < 0.5 else ASK
        off = min(int(rng.expovariate(1 / 12.0)), 400)
        if side is BID:
            top = (best_ask if best_ask is not None else MID + 1) - 1
            price = top - off
        else:
            bottom = (best_bid if best_bid is not None else MID - 1) + 1
            price = bottom + off
        return self._place(side, price, rng.randint(1, 100), GTC)

    def _place(self, side, price, qty, tif, account=None):
        self.ts += 1
        return PlaceOrder(
            ts=self.ts,
            account=account or self.rng.randint(1, ACCOUNTS),
            market=SYM,
            side=side,
            order_type=LIMIT,
            price=price,
            quantity=qty,
            time_in_force=tif,
        )

    def next(self):
        rng = self.rng
        r = rng.random()
        best_bid, best_ask = self.e.best_bid_ask(SYM)
        scale = max(0.25, min(4.0, len(self.open) / TARGET_BOOK))
        if r < 0.55 or len(self.open) < 100:
            kind, cmd = "passive", self.passive()
        elif r < 0.80:
            oid = self.open.choice(rng)
            self.ts += 1
            kind = "cancel"
            cmd = CancelOrder(ts=self.ts, account=self.e.get_order(oid).account, market=SYM, order_id=oid)
        elif r < 0.95:
            side = BID if rng.random() < 0.5 else ASK
            opp = best_ask if side is BID else best_bid
            if opp is None:
                kind, cmd = "passive", self.passive()
            else:
                price = opp + rng.randint(0, 3) if side is BID else opp - rng.randint(0, 3)
                qty = max(1, int(rng.randint(1, 150) * scale))
                kind, cmd = "cross", self._place(side, price, qty, GTC if rng.random() < 0.5 else IOC)
        else:
            side = BID if rng.random() < 0.5 else ASK
            if (best_ask if side is BID else best_bid) is None:
                kind, cmd = "passive", self.passive()
            else:
                self.ts += 1
                kind = "market"
                # (the draws in this order: the stream stays the one the recorded figures ran)
                if side is BID and rng.random() < 0.3:
                    # a budget in quote units (100 per tick-lot)
                    size = {"quote_quantity": int(MID * rng.randint(1, 150) * scale) * 100}
                    account = rng.randint(1, ACCOUNTS)
                else:
                    account = rng.randint(1, ACCOUNTS)
                    size = {"quantity": max(1, int(rng.randint(1, 150) * scale))}
                cmd = PlaceOrder(
                    ts=self.ts, account=account, market=SYM, side=side, order_type=MARKET, **size
                )
        self.kinds[kind] += 1
        self._apply(cmd)
        return cmd

    def initial_book(self, n: int) -> list:
        out = []
        for _ in range(n):
            cmd = self.passive()
            self._apply(cmd)
            out.append(cmd)
        return out


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def machine() -> str:
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    py = f"Python {platform.python_version()} ({platform.python_implementation()})"
    return f"{os.cpu_count()} CPU(s), {model}, {py}"


def load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def _ready_engine(setup: list, freeze: bool) -> Engine:
    e = new_engine()
    for cmd in setup:
        e.apply(cmd)
    gc.collect()
    if freeze:
        gc.freeze()
    return e


def mixed_run(n: int, seed: int, freeze: bool) -> dict:
    t = time.perf_counter()
    gen = Generator(seed)
    setup = gen.initial_book(TARGET_BOOK)
    stream = [gen.next() for _ in range(n)]
    gen_s = time.perf_counter() - t
    print(
        f"generated {n:,} commands in {gen_s:.1f} s: "
        + ", ".join(f"{k} {v / n:.1%}" for k, v in gen.kinds.items())
        + f"; resting orders at the end: {len(gen.open):,}"
    )

    # Throughput: a replay with nothing but ``apply`` in the loop. Latency: a second replay, on
    # a fresh engine, with a clock read around every command (two reads cost ~0.4 us, more than
    # a tenth of a command, so they stay out of the throughput figure).
    e = _ready_engine(setup, freeze)
    apply = e.apply
    clock = time.perf_counter_ns
    cpu0 = time.process_time()
    t0 = clock()
    for cmd in stream:
        apply(cmd)
    wall_ns = clock() - t0
    cpu_s = time.process_time() - cpu0
    if freeze:
        gc.unfreeze()
    assert e.state_digest() == gen.e.state_digest(), "replay diverged from the generator engine"
    del e, apply

    e = _ready_engine(setup, freeze)
    lat = array("q", bytes(8 * n))
    apply = e.apply
    counts = {"events": 0, "trades": 0, "rejected": 0}
    n_events = 0
    t0 = clock()
    for i, cmd in enumerate(stream):
        s = clock()
        events = apply(cmd)
        lat[i] = clock() - s
        n_events += len(events)
    timed_wall_ns = clock() - t0
    if freeze:
        gc.unfreeze()
    # tally outside the timed loop (replay on the generator's results would be identical)
    counts["events"] = n_events
    counts["trades"] = e.last_trade_id(SYM)
    assert e.state_digest() == gen.e.state_digest(), "replay diverged from the generator engine"
    srt = sorted(lat)
    mean_us = sum(lat) / n / 1000
    p50_us = srt[n // 2] / 1000
    p99_us = srt[min(n - 1, int(n * 0.99))] / 1000
    max_us = srt[-1] / 1000
    cps = n / (wall_ns / 1e9)
    timed_cps = n / (timed_wall_ns / 1e9)
    print(
        f"mixed: {cps:,.0f} commands/s ({wall_ns / 1e9:.2f} s wall; {timed_cps:,.0f}/s in the replay "
        f"with a timer around every command), "
        f"mean {mean_us:.2f} us, p50 {p50_us:.2f} us, p99 {p99_us:.2f} us, max {max_us:.0f} us per command; "
        f"{n_events / n:.2f} events/command, {counts['trades']:,} trades, book {len(e._orders):,} orders "
        f"(gc.freeze={'on' if freeze else 'off'})"
    )
    print(
        f"mixed, CPU time of this process: {cpu_s:.2f} s = {n / cpu_s:,.0f} commands/s "
        f"(wall/CPU = {wall_ns / 1e9 / cpu_s:.2f}; > 1 means other processes took the core)"
    )
    print(f"peak RSS after the mixed run: {peak_rss_bytes() / 2**20:,.0f} MiB")
    del stream, setup, gen, e
    gc.collect()
    return {
        "mixed_commands_per_s": round(cps),
        "mixed_p99_us": round(p99_us, 2),
        "mixed_mean_us": round(mean_us, 2),
        "mixed_cpu_commands_per_s": round(n / cpu_s),
    }


def big_book(n: int, seed: int) -> dict:
    rng = random.Random(seed)
    gc.collect()
    e = new_engine()
    gc.collect()
    rss0 = rss_bytes()
    t = time.perf_counter()
    apply = e.apply
    ts = TS0
    for i in range(n):
        ts += 1
        side = BID if i & 1 else ASK
        off = 1 + int(rng.expovariate(1 / 500.0))
        apply(
            PlaceOrder(
                ts=ts,
                account=rng.randint(1, ACCOUNTS),
                market=SYM,
                side=side,
                order_type=LIMIT,
                price=MID - off if side is BID else MID + off,
                quantity=rng.randint(1, 100),
            )
        )
    build_s = time.perf_counter() - t
    gc.collect()
    rss1 = rss_bytes()
    resting = len(e._orders)
    bids, asks, _ = e.depth(SYM)
    per_order = (rss1 - rss0) / resting
    print(
        f"big book: {resting:,} resting orders on {len(bids) + len(asks):,} levels built in {build_s:.1f} s "
        f"({n / build_s:,.0f} orders/s); RSS +{(rss1 - rss0) / 2**20:,.0f} MiB = {per_order:.0f} bytes/order"
    )
    t, c = time.perf_counter(), time.process_time()
    data = e.snapshot()
    snap_s, snap_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    e2 = Engine.restore(data)
    restore_s, restore_cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"snapshot: {len(data) / 2**20:,.0f} MiB in {snap_s:.2f} s (CPU {snap_cpu:.2f} s); "
        f"restore in {restore_s:.2f} s (CPU {restore_cpu:.2f} s)"
    )
    assert e2.state_digest() == e.state_digest(), "restored state differs"
    print(f"peak RSS: {peak_rss_bytes() / 2**20:,.0f} MiB (two engines of a million orders and the snapshot)")
    print(f"load average at the end: {load()}")
    return {
        "bytes_per_resting_order": round(per_order),
        "snapshot_s": round(snap_s, 2),
        "restore_s": round(restore_s, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commands", type=int, default=1_000_000, help="commands in the mixed run")
    ap.add_argument("--book-orders", type=int, default=1_000_000, help="resting orders in the big-book run")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="do not gc.freeze() the pre-generated stream and initial book before the timed run",
    )
    args = ap.parse_args()
    import engine.core

    print(f"machine: {machine()}; load average at start: {load()}; engine core: {engine.core.NATIVE}")
    out = mixed_run(args.commands, args.seed, not args.no_gc_freeze)
    out.update(big_book(args.book_orders, args.seed))
    result = {
        k: out[k]
        for k in (
            "mixed_commands_per_s",
            "mixed_p99_us",
            "bytes_per_resting_order",
            "snapshot_s",
            "restore_s",
        )
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
