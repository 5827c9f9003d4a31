"""Load test of the public market-data REST API against a running stack on this machine.

    # 1. the stack (any one of these), with the same DATABASE_URL/REDIS_URL as step 2:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange REDIS_URL=redis://127.0.0.1:6379/0 \
        WEB_WORKERS=2 PORT=8000 make run
    #    or only what these endpoints need (web; no engine, no worker):
    #    ... WEB_WORKERS=2 python manage.py run_web --port 8000
    # 2. the benchmark:
    DATABASE_URL=... REDIS_URL=... python bench/api_load.py [--base-url http://127.0.0.1:8000]

Seeds (idempotent: skipped when present) a market ``BENCH_USDC`` with
* a book of 10,000 resting orders (5,000 a side over a band of prices) written to the engine's
  market-data cache with the engine's writer, as the engine would publish it: aggregated per
  price level, the best ``DEPTH_CACHE_LEVELS`` (1,000) levels a side, both sides ascending;
* 1,000,000 trades in the database (COPY), one every ~0.26 s over the 3 days before today
  00:00 UTC, their candles built by ``history.candles.rebuild``, the newest 1,000 in the
  recent-trades cache and the 24 h ticker in the ticker cache.
Nothing goes through the engine: the REST API never asks it anything, so the engine being
idle, busy or absent does not change these figures (and it never trades BENCH_USDC, so it
never overwrites the seeded cache keys).

Then, per endpoint: a latency phase (one connection, requests back to back: p50/p99 of a
request on an otherwise idle server) and a throughput phase (``--concurrency`` keep-alive
connections for ``--seconds``: requests per second across the web workers, with the p50/p99
under that load). The latency phase uses a minimal asyncio HTTP/1.1 client. The throughput
phase uses ``wrk`` (Debian's package ``wrk``) when it is installed: a C load generator costs a
fraction of the CPU of any Python client, and on a 2-CPU machine the load generator competes
with the web workers for the same cores (the asyncio client alone took ~40 % off the measured
requests/s here). ``--load-generator python`` forces the asyncio client. Either runs on the same
machine as the server, so the throughput figure is a lower bound.

Only 127.0.0.1/localhost is accepted as a target. Last line: one JSON object
{"depth_p50_ms", "depth_rps", "tickers_p50_ms", "trades_p50_ms", "klines_day_p50_ms"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.http_client import Connection  # noqa: E402
from contract import md_cache, wire  # noqa: E402
from contract.wire import MarketFormat  # noqa: E402
from engine.ticker import RollingTicker  # noqa: E402
from exchange_site.redis_client import get_redis  # noqa: E402
from history import candles  # noqa: E402
from history.models import Trade  # noqa: E402
from markets import services  # noqa: E402
from markets.models import Market  # noqa: E402

SYMBOL = "BENCH_USDC"
BOOK_ORDERS = 10_000
CACHE_LEVELS = 1000  # contract.md_cache.DEPTH_CACHE_LEVELS: what the engine keeps in the cache
MID_TICKS = 10_000  # 100.00
TRADE_DAYS = 3


# --- seeding -------------------------------------------------------------------------------


def ensure_market() -> Market:
    usdc = services.ensure_asset("USDC", "USD Coin", 6)
    base = services.ensure_asset("BENCH", "Bench coin", 9)
    services.ensure_market(
        SYMBOL,
        base,
        usdc,
        tick_size="0.01",
        step_size="0.01",
        min_price="0.01",
        max_price="1000000",
        min_quantity="0.01",
        max_quantity="1000000",
    )
    return Market.objects.select_related("base", "quote").get(symbol=SYMBOL)


def seed_book(market: Market, rng: random.Random) -> int:
    """10,000 resting orders aggregated into levels, published the way the engine does."""
    fmt = MarketFormat.of(market)
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for i in range(BOOK_ORDERS):
        side = bids if i % 2 == 0 else asks
        distance = int(rng.expovariate(1 / 400)) + 1  # dense near the mid, a long tail
        price = MID_TICKS - distance if side is bids else MID_TICKS + distance
        side[price] = side.get(price, 0) + rng.randint(1, 5000)
    best_bids = sorted(bids.items(), reverse=True)[:CACHE_LEVELS]
    best_asks = sorted(asks.items())[:CACHE_LEVELS]
    snapshot = wire.depth_snapshot(fmt, best_bids, best_asks, BOOK_ORDERS, time.time_ns() // 1000)
    with get_redis().pipeline(transaction=True) as pipe:
        md_cache.write_depth(pipe, SYMBOL, snapshot)
        pipe.execute()
    return len(bids) + len(asks)


def trade_window() -> tuple[int, int]:
    """[start, end) ms of the seeded trades: the TRADE_DAYS days before today 00:00 UTC."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = int(today.timestamp()) * 1000
    return end - TRADE_DAYS * 86_400_000, end


def seed_trades(market: Market, count: int, rng: random.Random) -> None:
    """``count`` trades, ids 1..count, spread evenly over the trade window, a random walk."""
    start, end = trade_window()
    step = (end - start) / count
    price = MID_TICKS
    quote_units_per_tick_lot = 100  # 0.01 USDC x 0.01 = 0.0001 USDC = 100 units of 10**-6

    def rows():
        nonlocal price
        for i in range(1, count + 1):
            price = max(1, price + rng.randint(-3, 3))
            qty = rng.randint(1, 1000)
            yield (market.id, i, price, qty, price * qty * quote_units_per_tick_lot, 2 * i, 2 * i + 1,
                   rng.random() < 0.5, start + int((i - 1) * step), i)  # fmt: skip

    columns = (
        "market_id, trade_id, price, quantity, quote_quantity, buyer_order_id, seller_order_id, "
        "is_buyer_maker, ts, seq"
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                with cur.connection.cursor().copy(
                    f"COPY {Trade._meta.db_table} ({columns}) FROM STDIN"
                ) as copy:
                    for row in rows():
                        copy.write_row(row)
        else:
            names = [c.strip() for c in columns.split(",")]
            batch = []
            for r in rows():
                batch.append(Trade(**dict(zip(names, r, strict=True))))
                if len(batch) == 10_000:
                    Trade.objects.bulk_create(batch)
                    batch = []
            Trade.objects.bulk_create(batch)
        candles.rebuild(market_ids=[market.id])


def seed_recent(market: Market) -> None:
    """The recent-trades and ticker caches, as the engine would have left them."""
    fmt = MarketFormat.of(market)
    _, end = trade_window()
    ticker = RollingTicker()
    day = Trade.objects.filter(market=market, ts__gte=end - 86_400_000).order_by("trade_id")
    for ts, price, qty, quote in day.values_list("ts", "price", "quantity", "quote_quantity").iterator(
        10_000
    ):
        ticker.add_trade(ts, price, qty, quote)
    recent = list(
        Trade.objects.filter(market=market)
        .order_by("-trade_id")
        .values("trade_id", "price", "quantity", "quote_quantity", "ts", "is_buyer_maker")[
            : md_cache.RECENT_TRADES_KEPT
        ]
    )
    recent.reverse()
    with get_redis().pipeline(transaction=True) as pipe:
        pipe.delete(md_cache.trades_key(SYMBOL))
        md_cache.push_trades(pipe, SYMBOL, [wire.trade_rest(fmt, t) for t in recent])
        md_cache.write_ticker(pipe, SYMBOL, wire.ticker_rest(fmt, ticker.stats(end - 1)))
        pipe.execute()


def seed(trades: int, rng: random.Random) -> None:
    t0 = time.monotonic()
    market = ensure_market()
    levels = seed_book(market, rng)
    print(f"book: {BOOK_ORDERS} orders in {levels} levels (cache keeps {CACHE_LEVELS} a side)", flush=True)
    have = Trade.objects.filter(market=market).count()
    if have != trades:
        if have:
            print(f"trades: {have} present, reseeding {trades}", flush=True)
            with transaction.atomic():
                market.candles.all().delete()
                market.trades.all().delete()
        print(f"trades: inserting {trades} and building their candles ...", flush=True)
        seed_trades(market, trades, rng)
    else:
        print(f"trades: {trades} already present", flush=True)
    seed_recent(market)
    print(f"seeded in {time.monotonic() - t0:.1f} s", flush=True)


async def latency(host: str, port: int, target: str, requests: int, errors: dict[int, int]) -> list[float]:
    conn = Connection(host, port)
    await conn.open()
    try:
        for _ in range(20):  # warm up: connection, caches, the ORM
            await conn.get(target)
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            status, _ = await conn.get(target)
            times.append(time.perf_counter() - t)
            if status != 200:
                errors[status] = errors.get(status, 0) + 1
        return times
    finally:
        conn.close()


async def throughput(
    host: str, port: int, target: str, concurrency: int, seconds: float, errors: dict[int, int]
) -> tuple[int, list[float]]:
    conns = [Connection(host, port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in conns))
    times: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            status, _ = await conn.get(target)
            times.append(time.perf_counter() - t)
            if status != 200:  # counted and reported, not fatal: a load test must show them
                errors[status] = errors.get(status, 0) + 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return int(len(times) / elapsed), times


_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk printed no {label!r} latency:\n{text}")
    return round(float(match[1]) * _WRK_UNITS_MS[match[2]], 2)


def wrk_throughput(
    base_url: str, target: str, concurrency: int, seconds: float, errors: dict[int, int]
) -> dict:
    """The throughput phase run by ``wrk`` (one thread, ``concurrency`` keep-alive connections):
    requests/s and the p50/p99 under that load, as wrk measures them."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency", base_url + target],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE)
    if rps is None:
        raise SystemExit(f"wrk printed no Requests/sec:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        errors[0] = errors.get(0, 0) + int(bad[1])  # wrk does not say which status
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors[-1] = errors.get(-1, 0) + sum(int(n) for n in socket.groups())  # -1: transport errors
    return {"rps": int(float(rps[1])), "p50_ms": _wrk_ms(out, "50%"), "p99_ms": _wrk_ms(out, "99%")}


def pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--no-seed", action="store_true", help="use the data already seeded")
    parser.add_argument("--latency-requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="throughput phase: wrk when installed (auto), or the asyncio client",
    )
    args = parser.parse_args()
    use_wrk = args.load_generator == "wrk" or (
        args.load_generator == "auto" and shutil.which("wrk") is not None
    )

    url = urlsplit(args.base_url)
    if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost"):
        sys.exit("only http://127.0.0.1 (this machine) may be targeted")
    host, port = url.hostname, url.port or 80

    if not args.no_seed:
        seed(args.trades, random.Random(7))
    _, end = trade_window()
    day_start = end // 1000 - 86_400
    targets = {
        "depth": f"/api/v1/depth?symbol={SYMBOL}",
        "tickers": "/api/v1/tickers",
        "trades": f"/api/v1/trades?symbol={SYMBOL}",
        "klines_day": (
            f"/api/v1/klines?symbol={SYMBOL}&interval=1m&startTime={day_start}&endTime={day_start + 86_400}"
        ),
    }

    async def run() -> dict:
        results = {}
        for name, target in targets.items():
            probe = Connection(host, port)
            await probe.open()
            status, body = await probe.get(target)
            probe.close()
            if status != 200:
                raise SystemExit(f"{target}: HTTP {status} {body[:300]!r}")
            size = len(body)
            items = json.loads(body)
            count = len(items["bids"]) + len(items["asks"]) if name == "depth" else len(items)
            errors: dict[int, int] = {}
            lat = await latency(host, port, target, args.latency_requests, errors)
            if use_wrk:
                loaded = wrk_throughput(
                    args.base_url.rstrip("/"), target, args.concurrency, args.seconds, errors
                )
            else:
                rps, times = await throughput(host, port, target, args.concurrency, args.seconds, errors)
                loaded = {"rps": rps, "p50_ms": pct(times, 0.50), "p99_ms": pct(times, 0.99)}
            rps = loaded["rps"]
            results[name] = {
                "p50_ms": pct(lat, 0.50),
                "p99_ms": pct(lat, 0.99),
                "mean_ms": round(statistics.fmean(lat) * 1000, 2),
                "rps": rps,
                "loaded_p50_ms": loaded["p50_ms"],
                "loaded_p99_ms": loaded["p99_ms"],
                "bytes": size,
                "items": count,
                "errors": errors,
            }
            r = results[name]
            print(
                f"{name:11s} {count:5d} items {size:7d} B"
                f" | idle p50 {r['p50_ms']:6.2f} ms p99 {r['p99_ms']:6.2f} ms"
                f" | c={args.concurrency}: {rps:5d} req/s p50 {r['loaded_p50_ms']:6.2f} ms"
                f" p99 {r['loaded_p99_ms']:6.2f} ms" + (f" | NON-200 RESPONSES: {errors}" if errors else ""),
                flush=True,
            )
        return results

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.1f} (other work on the machine inflates every figure)",
        flush=True,
    )
    print(f"load generator (throughput phase): {'wrk' if use_wrk else 'asyncio client'}", flush=True)
    print(
        f"target: {args.base_url}; day of 1m candles: {datetime.fromtimestamp(day_start, UTC):%Y-%m-%d}",
        flush=True,
    )
    results = asyncio.run(run())
    print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)
    print(
        json.dumps(
            {
                "depth_p50_ms": results["depth"]["p50_ms"],
                "depth_rps": results["depth"]["rps"],
                "tickers_p50_ms": results["tickers"]["p50_ms"],
                "trades_p50_ms": results["trades"]["p50_ms"],
                "klines_day_p50_ms": results["klines_day"]["p50_ms"],
            }
        )
    )


if __name__ == "__main__":
    main()
