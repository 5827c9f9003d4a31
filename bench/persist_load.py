#!/usr/bin/env python
"""Persistence benchmark: engine event batches written to PostgreSQL, candles included.

The events are what the engine process hands to Celery for a busy market (engine event shapes,
``event_to_dict`` form): resting maker orders accepted ahead, then taker orders that each fill
one to three makers — per trade a ``Trade`` and two ``OrderFilled``, plus the orders' acceptances
(about 4.5 events per trade, deposits at the start). Batches of ``--batch-trades`` trades
(default 1,250). Every batch writes the trade, both fills,
the two order upserts, seven ledger entries and the candles of all 15 intervals.

1. Worker: every batch is queued on a private Redis queue first, then ONE Celery worker as the
   Procfile runs it (``celery -A exchange_site worker --concurrency 2``: a prefork pool of two
   processes, so two database sessions; ``--concurrency 1`` runs ``--pool solo``, a single
   process), a subprocess, is started on it; timed from
   the first trade merged into the candles to the last. The trades are stamped "now", so the
   worker also publishes the changed open candles as kline frames after each batch.
   -> ``trades_per_s``
2. In process: the same batches through ``history.persistence.persist_events`` in this process
   on emptied tables, timing the candle stage (aggregation + upsert) on its own.
   -> ``candle_updates_per_s``: trades merged into the candles of all 15 intervals per second
   of candle-stage time (each such trade updates 15 candles).

The database must be a scratch one: its history tables are TRUNCATEd (the script refuses a
database whose name lacks "bench" unless ``--force``). It is created and migrated if missing.

    .venv/bin/python bench/persist_load.py                          # 100,000 trades
    .venv/bin/python bench/persist_load.py --trades 20000 --mode inprocess   # quick

The last line printed is one JSON object: {"trades_per_s", "candle_updates_per_s"}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYMBOL = "PBENCH_USDC"
TRADERS = 200
FEE_BPS = (2, 5)  # the market's maker and taker fees
HISTORY_TABLES = (
    "markets_trade",
    "markets_candle",
    "accounts_fill",
    "accounts_ledgerentry",
    "accounts_order",
    "accounts_transfer",
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trades", type=int, default=100_000)
    p.add_argument("--batch-trades", type=int, default=1_250)
    p.add_argument(
        "--trades-per-second-of-market-time",
        type=int,
        default=2_000,
        help="spacing of trade timestamps (how many candles the run spans)",
    )
    p.add_argument("--mode", choices=("both", "worker", "inprocess"), default="both")
    p.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/exchange_bench"),
    )
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    p.add_argument("--force", action="store_true", help="allow a database name without 'bench'")
    p.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="the worker's processes (prefork pool; 1: one solo process); the Procfile runs 2",
    )
    return p.parse_args()


def setup_django(args: argparse.Namespace) -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(args.database_url)
    if cfg["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("this benchmark is for PostgreSQL")
    if "bench" not in cfg["NAME"] and not args.force:
        sys.exit(f"refusing to TRUNCATE history tables of {cfg['NAME']!r}: use a scratch database or --force")
    admin = psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"],
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
        admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    admin.close()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reference_data() -> list[int]:
    """The market (straight into the database: no engine is needed to persist events) and the
    traders; returns the traders' account ids."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from markets.models import Asset, Market

    base, _ = Asset.objects.get_or_create(symbol="PBENCH", defaults={"display_name": "PBENCH", "decimals": 9})
    quote, _ = Asset.objects.get_or_create(
        symbol="USDC", defaults={"display_name": "USD Coin", "decimals": 6}
    )
    Market.objects.get_or_create(
        symbol=SYMBOL,
        defaults={
            "base": base,
            "quote": quote,
            "tick_size": Decimal("0.01"),
            "step_size": Decimal("0.01"),
            "min_price": Decimal("0.01"),
            "max_price": Decimal("1000000"),
            "min_quantity": Decimal("0.01"),
            "max_quantity": Decimal("1000000"),
            "maker_fee_bps": FEE_BPS[0],
            "taker_fee_bps": FEE_BPS[1],
        },
    )
    User = get_user_model()
    names = [f"pbench-{i}" for i in range(TRADERS)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create([User(username=n) for n in names if n not in existing])
    return list(User.objects.filter(username__in=names).order_by("pk").values_list("pk", flat=True))


def truncate() -> None:
    from django.db import connection

    from history import persistence

    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(HISTORY_TABLES)}")
    persistence.directory.clear()


def generate(total_trades: int, batch_trades: int, accounts: list[int], per_second: int) -> list[list[dict]]:
    """Batches of engine events, built by the engine's own event constructors (``engine.core.emit``)
    from its ``Order``s, in ``event_to_dict`` form."""
    from engine.core import emit
    from engine.core import messages as M
    from engine.core.book import Order
    from engine.core.codec import event_to_dict

    rng = random.Random(7)
    # Trades "now": the candles they touch are open, so the worker also publishes kline
    # frames (pub/sub + channel layer) after every batch, as it does in production.
    t0 = int(time.time() * 1000)
    seq = 0
    order_id = 0
    events: list[dict] = []

    def next_seq() -> int:
        nonlocal seq
        seq += 1
        return seq

    def add(event) -> None:
        events.append(event_to_dict(event))

    def accept(account: int, side: str, price: int, qty: int, ts: int) -> Order:
        """A new limit order (fee rate: the market's higher one, as the engine locks it)."""
        nonlocal order_id
        order_id += 1
        o = Order(order_id, account, SYMBOL, side, M.LIMIT, M.GTC, False, M.REJECT_TAKER, None, price, qty,
                  None, qty, 0, 0, M.NEW, ts, FEE_BPS[1], None, order_id)  # fmt: skip
        add(emit.ev_accepted(next_seq(), ts, o))
        return o

    def fill(o: Order, trade_id: int, qty: int, notional: int, fee: int, is_maker: bool, ts: int) -> None:
        o.remaining -= qty
        o.executed += qty
        o.executed_quote += notional
        o.status = M.FILLED if o.remaining == 0 else M.PARTIALLY_FILLED
        add(emit.ev_filled(next_seq(), ts, o, trade_id, o.price, qty, notional, fee, "USDC", is_maker))

    for i, account in enumerate(accounts):
        add(
            M.Deposited(
                seq=next_seq(), ts=t0, account=account, asset="USDC", amount=10**15, tx_id=f"pbench-usdc-{i}"
            )
        )
    trade_id = 0
    ts = t0
    while trade_id < total_trades:
        # A taker order filling one to three resting makers (accepted a little earlier).
        fills = min(rng.randint(1, 3), total_trades - trade_id)
        taker = rng.choice(accounts)
        side = rng.choice((M.BID, M.ASK))
        price = 14_000 + rng.randint(-50, 50)
        makers = []
        for _ in range(fills):
            maker = rng.choice(accounts)
            while maker == taker:  # the engine's self-trade prevention: never one's own maker
                maker = rng.choice(accounts)
            makers.append(accept(maker, M.ASK if side == M.BID else M.BID, price, rng.randint(1, 500), ts))
        ts += 1000 // per_second or 1
        taker_order = accept(taker, side, price, sum(m.quantity for m in makers), ts)
        for maker_order in makers:
            trade_id += 1
            qty = maker_order.quantity
            notional = price * qty * 100  # tick 0.01 x step 0.01 x 10**6
            mfee, tfee = (notional * bps // 10000 for bps in FEE_BPS)
            buyer, seller = (taker_order, maker_order) if side == M.BID else (maker_order, taker_order)
            add(
                emit.mk_trade(
                    next_seq(),
                    ts,
                    SYMBOL,
                    trade_id,
                    price,
                    qty,
                    notional,
                    buyer_order_id=buyer.order_id,
                    seller_order_id=seller.order_id,
                    buyer_account=buyer.account,
                    seller_account=seller.account,
                    is_buyer_maker=side == M.ASK,
                    buyer_fee=tfee if side == M.BID else mfee,
                    seller_fee=mfee if side == M.BID else tfee,
                    fee_asset="USDC",
                )
            )
            fill(maker_order, trade_id, qty, notional, mfee, True, ts)
            fill(taker_order, trade_id, qty, notional, tfee, False, ts)
    # Cut into batches of about ``batch_trades`` trades, never inside a command's events.
    batches, current, in_batch = [], [], 0
    for ev in events:
        if ev["type"] == "OrderAccepted" and in_batch >= batch_trades and current:
            batches.append(current)
            current, in_batch = [], 0
        current.append(ev)
        in_batch += ev["type"] == "Trade"
    if current:
        batches.append(current)
    return batches


def merged_trades() -> int:
    """Trades merged into candles so far (the 1month candles' trade counts)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(sum(trades), 0) FROM markets_candle WHERE interval = '1month'")
        return int(cur.fetchone()[0])


def run_worker(args: argparse.Namespace, batches: list[list[dict]], total: int) -> dict:
    from history.tasks import hand_over

    truncate()
    queue = f"persist-bench-{uuid.uuid4().hex[:8]}"
    t = time.perf_counter()
    for batch in batches:
        hand_over(batch, queue)  # as the engine hands a batch over
    enqueue_s = time.perf_counter() - t
    log_path = Path("/tmp") / f"{queue}.log"
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "exchange_site",
                "worker",
                "--pool",
                "solo" if args.concurrency == 1 else "prefork",
                "--concurrency",
                str(args.concurrency),
                "--queues",
                queue,
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # "ready" is logged at INFO; at WARNING we time from the first trade merged instead
        # and add back one batch's share (the first batch is in flight while we wait).
        deadline = time.monotonic() + 60
        while merged_trades() == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker failed; log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.005)
        t0 = time.perf_counter()
        first = merged_trades()
        while (done := merged_trades()) < total:
            if proc.poll() is not None:
                raise RuntimeError(f"worker died; log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)
    return {
        "trades": total,
        "seconds": round(elapsed, 3),
        "trades_per_s": round((done - first) / elapsed),
        "enqueue_s": round(enqueue_s, 2),
        "batches": len(batches),
    }


def run_inprocess(batches: list[list[dict]], total: int) -> dict:
    from contract import persist_batch
    from history import persistence

    truncate()
    batches = [persist_batch.pack(b) for b in batches]  # as the engine hands them over
    t = time.perf_counter()
    candle_s = 0.0
    candle_rows = 0
    trades = 0
    for batch in batches:
        result = persistence.persist_events(batch)
        candle_s += result.candle_seconds
        candle_rows += len(result.candles)
        trades += result.trades
    elapsed = time.perf_counter() - t
    assert trades == total, (trades, total)
    return {
        "trades": trades,
        "seconds": round(elapsed, 3),
        "trades_per_s": round(trades / elapsed),
        "candle_seconds": round(candle_s, 3),
        "candle_updates_per_s": round(trades / candle_s),
        "candle_rows_upserted_per_s": round(candle_rows / candle_s),
    }


# Every candle's values (not its row id: a rebuild writes new rows).
CANDLES_DIGEST = """
    SELECT md5(string_agg(row(market_id, interval, open_time, open, high, low, close, volume, quote_volume,
                              trades, first_trade_id, last_trade_id)::text, ','
                          ORDER BY market_id, interval, open_time))
    FROM markets_candle
"""


def verify(total: int, accounts: int) -> dict:
    """Every trade once, seven ledger entries each, candles equal to a rebuild from trades."""
    from django.db import connection, transaction

    from history import candles

    with connection.cursor() as cur:
        counts = {}
        for table in ("markets_trade", "accounts_fill", "accounts_ledgerentry"):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
        cur.execute(CANDLES_DIGEST)
        before = cur.fetchone()[0]
        with transaction.atomic():
            candles.rebuild()
            cur.execute(CANDLES_DIGEST)
            after = cur.fetchone()[0]
    ok = (
        counts["markets_trade"] == total
        and counts["accounts_fill"] == 2 * total
        and counts["accounts_ledgerentry"] == 7 * total + accounts
    )
    return {"rows_ok": ok, "candles_equal_rebuild": before == after, **counts}


def main() -> None:
    args = parse_args()
    setup_django(args)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    print(
        f"machine: {platform.node()} {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}, PostgreSQL {pg}; load average {os.getloadavg()}"
    )
    accounts = reference_data()
    t = time.perf_counter()
    batches = generate(args.trades, args.batch_trades, accounts, args.trades_per_second_of_market_time)
    n_events = sum(len(b) for b in batches)
    print(
        f"generated {args.trades} trades, {n_events} events in {len(batches)} batches "
        f"({n_events / args.trades:.2f} events/trade) in {time.perf_counter() - t:.1f}s"
    )

    summary = {"trades_per_s": None, "candle_updates_per_s": None}
    if args.mode in ("both", "worker"):
        w = run_worker(args, batches, args.trades)
        pool = "solo pool" if args.concurrency == 1 else f"prefork pool, {args.concurrency} processes"
        print(f"one worker (celery, {pool}):", json.dumps(w))
        print("  check:", json.dumps(verify(args.trades, len(accounts))))
        summary["trades_per_s"] = w["trades_per_s"]
    if args.mode in ("both", "inprocess"):
        p = run_inprocess(batches, args.trades)
        print("in process (persist_events):", json.dumps(p))
        summary["candle_updates_per_s"] = p["candle_updates_per_s"]
        if summary["trades_per_s"] is None:
            summary["trades_per_s"] = p["trades_per_s"]
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
