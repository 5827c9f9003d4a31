"""Load test of order entry through the private REST API, against a running stack on this machine.

    # 1. the whole stack (web, engine, worker), with a private VAR_DIR, database and Redis db:
    VAR_DIR=/tmp/order_load DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_bench \
        REDIS_URL=redis://127.0.0.1:6379/14 REDIS_ACCEPT_DATA_LOSS=true WEB_WORKERS=2 PORT=8010 make run
    # 2. the benchmark, with the same DATABASE_URL and REDIS_URL:
    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/order_load.py \
        --base-url http://127.0.0.1:8010 [--clients 32] [--seconds 60]

Setup (through the project's own code, as an operator would): ``--clients`` users
``order_load_<i>``, a fresh API key each, and funds deposited through the engine.

Load: each client is an asyncio task with its own keep-alive connection (``bench.http_client``:
a minimal HTTP/1.1 client, as the load generator shares the server's CPUs), signing every
request with Ed25519 exactly as a Backpack client library does. It places limit orders on two
markets (SOL_USDC and BTC_USDC by default), alternating; most rest a few ticks away from the
middle, one in ``--cross-every`` crosses it and trades with another client's resting order. Once a
client has more than ``--resting`` orders resting, it cancels its oldest one (DELETE /api/v1/order),
so the book stays bounded and every order is placed and then cancelled (or filled).

Afterwards the acknowledgements are checked against the engine and the database:
- engine: every order the client believes is still resting appears in its open orders (the
  engine's cache, GET /api/v1/orders), unless the database shows another client filled it;
- database: after the persistence workers catch up (up to ``--settle`` seconds), every
  acknowledged order id has its row in accounts_order.
``lost`` counts acknowledged orders missing from either.

Only 127.0.0.1/localhost is accepted as a target. The figures: orders placed (acknowledged) per
second over the run; latency percentiles over every request of the run (placements and
cancels); ``errors`` counts transport failures and any unexpected status (a cancel that finds
its order already filled by someone else is expected and counted apart). Last line: one JSON
object {"orders_per_s", "p50_ms", "p99_ms", "errors", "lost"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

import django  # noqa: E402

django.setup()


from django.contrib.auth import get_user_model  # noqa: E402

from accounts import services, signing  # noqa: E402
from accounts.models import Order  # noqa: E402
from bench.http_client import Connection  # noqa: E402
from markets.models import Market  # noqa: E402

# Funds per client: far more than the run can lock, so no order is refused for funds.
FUNDS = {"USDC": "100000000", "SOL": "1000000", "BTC": "10000", "ETH": "100000"}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class MarketPlan:
    symbol: str
    mid: Decimal
    tick: Decimal
    quantity: str


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, every request
    place_latencies: list[float] = field(default_factory=list)
    cancel_latencies: list[float] = field(default_factory=list)
    placed: int = 0
    cancelled: int = 0
    cancel_missed: int = 0  # the order was filled by another client first: expected
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(text)


@dataclass
class Client:
    index: int
    user: object
    api_key: str
    secret: str
    acked: dict[int, str] = field(default_factory=dict)  # order id -> symbol
    resting: deque = field(default_factory=deque)  # (order id, symbol), oldest first
    next_client_id: int = 1

    def headers(self, instruction: str, params) -> dict[str, str]:
        h = signing.signed_headers(self.secret, instruction, params, now_ms(), 10000)
        h["Content-Type"] = "application/json"
        return h


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model or platform.machine()})"


# --- setup --------------------------------------------------------------------------------------


def market_plans(symbols: list[str]) -> list[MarketPlan]:
    plans = []
    mids = {"SOL_USDC": Decimal("150"), "BTC_USDC": Decimal("60000"), "ETH_USDC": Decimal("3000")}
    for symbol in symbols:
        market = Market.objects.filter(symbol=symbol).first()
        if market is None:
            raise SystemExit(
                f"market {symbol} does not exist: start the stack with `make run` (it seeds the demo)"
            )
        mid = mids.get(symbol, market.min_price * 1000)
        plans.append(
            MarketPlan(
                symbol, mid, market.tick_size.normalize(), format(market.min_quantity.normalize() * 10, "f")
            )
        )
    return plans


def make_clients(count: int) -> list[Client]:
    User = get_user_model()
    run = uuid.uuid4().hex[:8]
    clients = []
    for i in range(count):
        user, _ = User.objects.get_or_create(username=f"order_load_{i}")
        key, secret = services.create_api_key(user, "order_load")
        for asset, amount in FUNDS.items():
            services.deposit(user, asset, amount, tx_id=f"order_load:{run}:{i}:{asset}")
        clients.append(Client(i, user, key.public_key, secret))
    return clients


# --- load ---------------------------------------------------------------------------------------


async def request(
    http: Connection,
    client: Client,
    method: str,
    path: str,
    instruction: str,
    body,
    stats: Stats,
    kind: str,
) -> tuple[int, bytes] | None:
    text = json.dumps(body).encode()
    start = time.perf_counter()
    try:
        response = await asyncio.wait_for(
            http.request(method, path, text, client.headers(instruction, body)), timeout=10
        )
    except Exception as exc:  # a transport failure or a response this client cannot read
        stats.error(f"{kind}: {type(exc).__name__}: {exc}")
        try:
            await http.reopen()
        except OSError as reopen_exc:
            stats.error(f"{kind}: reconnecting: {reopen_exc}")
            await asyncio.sleep(0.1)
        return None
    elapsed = time.perf_counter() - start
    stats.latencies.append(elapsed)
    (stats.place_latencies if kind == "place" else stats.cancel_latencies).append(elapsed)
    return response


async def run_client(
    base_url: str,
    client: Client,
    plans: list[MarketPlan],
    deadline: float,
    stats: Stats,
    args,
    rng: random.Random,
) -> None:
    http = await connect(base_url)
    try:
        n = 0
        while time.perf_counter() < deadline:
            plan = plans[n % len(plans)]
            # counted per market: with the markets alternating, a count over all orders would
            # put every crossing order on the same market whenever the two counts share a factor
            nth_of_market = n // len(plans) + 1
            n += 1
            side = "Bid" if rng.random() < 0.5 else "Ask"
            if args.cross_every and nth_of_market % args.cross_every == 0:
                offset = -2 if side == "Bid" else 2  # crosses the middle: takes resting orders
            else:
                offset = rng.randint(1, 50)
            price = plan.mid - offset * plan.tick if side == "Bid" else plan.mid + offset * plan.tick
            order = {
                "symbol": plan.symbol,
                "side": side,
                "orderType": "Limit",
                "price": format(price, "f"),
                "quantity": plan.quantity,
                "clientId": client.next_client_id,
            }
            client.next_client_id += 1
            response = await request(
                http, client, "POST", "/api/v1/order", "orderExecute", order, stats, "place"
            )
            if response is None:
                continue
            status, content = response
            if status != 200:
                stats.error(f"place: {status} {content[:200]!r}")
                continue
            placed = json.loads(content)
            stats.placed += 1
            order_id = int(placed["id"])
            client.acked[order_id] = plan.symbol
            if placed["status"] in ("New", "PartiallyFilled"):
                client.resting.append((order_id, plan.symbol))
            if len(client.resting) > args.resting:
                old_id, old_symbol = client.resting.popleft()
                body = {"symbol": old_symbol, "orderId": str(old_id)}
                response = await request(
                    http, client, "DELETE", "/api/v1/order", "orderCancel", body, stats, "cancel"
                )
                if response is None:
                    continue
                status, content = response
                if status == 200:
                    stats.cancelled += 1
                elif status == 404:
                    stats.cancel_missed += 1  # filled by a crossing order of another client
                else:
                    stats.error(f"cancel: {status} {content[:200]!r}")
    finally:
        http.close()


async def connect(base_url: str) -> Connection:
    url = urlparse(base_url)
    http = Connection(url.hostname, url.port or 80)
    await http.open()
    return http


async def signed(base_url: str, client: Client, method: str, path: str, instruction: str, body) -> bytes:
    http = await connect(base_url)
    try:
        text = json.dumps(body).encode() if body else b""
        status, content = await http.request(method, path, text, client.headers(instruction, body))
    finally:
        http.close()
    if status != 200:
        raise RuntimeError(f"{method} {path}: HTTP {status} {content[:300]!r}")
    return content


async def open_orders(base_url: str, client: Client) -> set[int]:
    content = await signed(base_url, client, "GET", "/api/v1/orders", "orderQueryAll", {})
    return {int(o["id"]) for o in json.loads(content)}


async def cancel_everything(base_url: str, client: Client, plans: list[MarketPlan]) -> None:
    for plan in plans:
        await signed(base_url, client, "DELETE", "/api/v1/orders", "orderCancelAll", {"symbol": plan.symbol})


# --- verification -------------------------------------------------------------------------------


def wait_for_rows(order_ids: set[int], settle_s: float) -> tuple[set[int], dict[int, str]]:
    """(ids still missing from the database after ``settle_s``, status of each id found)."""
    deadline = time.monotonic() + settle_s
    statuses: dict[int, str] = {}
    missing = set(order_ids)
    while True:
        ids = list(missing)
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            statuses.update(Order.objects.filter(order_id__in=chunk).values_list("order_id", "status"))
        missing = {i for i in missing if i not in statuses}
        if not missing or time.monotonic() >= deadline:
            return missing, statuses
        time.sleep(0.5)


async def main_async(args) -> dict:
    # Django's ORM is synchronous: the setup and the database checks run in a worker thread.
    clients = await asyncio.to_thread(make_clients, args.clients)
    plans = await asyncio.to_thread(market_plans, args.markets)
    for client in clients:  # leftovers of an interrupted earlier run
        await cancel_everything(args.base_url, client, plans)

    stats = Stats()
    rng = random.Random(args.seed)
    start = time.perf_counter()
    deadline = start + args.seconds
    await asyncio.gather(
        *(
            run_client(args.base_url, c, plans, deadline, stats, args, random.Random(rng.random()))
            for c in clients
        )
    )
    duration = time.perf_counter() - start

    # Engine: what each client believes rests must be in its open orders (or filled meanwhile).
    believed_open: dict[int, int] = {}
    engine_open: set[int] = set()
    for client in clients:
        for order_id, _ in client.resting:
            believed_open[order_id] = client.index
        engine_open |= await open_orders(args.base_url, client)
    acked = {oid for c in clients for oid in c.acked}
    missing_rows, statuses = await asyncio.to_thread(wait_for_rows, acked, args.settle)
    not_in_engine = {
        oid for oid in believed_open if oid not in engine_open and statuses.get(oid) not in ("Filled",)
    }
    for client in clients:
        await cancel_everything(args.base_url, client, plans)

    all_latencies = stats.latencies
    result = {
        "orders_per_s": round(stats.placed / duration, 1),
        "p50_ms": round(percentile(all_latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(all_latencies, 0.99) * 1000, 2),
        "errors": stats.errors,
        "lost": len(missing_rows | not_in_engine),
    }
    print(f"machine: {machine()}")
    print(
        f"target: {args.base_url}; clients: {args.clients}; seconds: {args.seconds}; markets: {args.markets}"
    )
    print(
        f"placed {stats.placed} orders in {duration:.1f} s: {result['orders_per_s']} orders/s; "
        f"cancelled {stats.cancelled} ({stats.cancel_missed} already filled); "
        f"requests {len(all_latencies) / duration:.1f}/s"
    )
    for name, values in (
        ("all requests", all_latencies),
        ("place", stats.place_latencies),
        ("cancel", stats.cancel_latencies),
    ):
        print(
            f"latency {name}: p50 {percentile(values, 0.5) * 1000:.2f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.2f} ms, max {max(values, default=0) * 1000:.2f} ms"
        )
    print(f"errors: {stats.errors}" + (f" e.g. {stats.error_samples[:3]}" if stats.errors else ""))
    print(
        f"verification: {len(acked)} acknowledged orders; missing from the database after "
        f"{args.settle:.0f} s: {len(missing_rows)}; "
        f"resting orders missing from the engine: {len(not_in_engine)}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--markets", type=lambda s: s.split(","), default=["SOL_USDC", "BTC_USDC"])
    parser.add_argument(
        "--resting", type=int, default=5, help="orders a client keeps resting before cancelling"
    )
    parser.add_argument(
        "--cross-every", type=int, default=10, help="one order in N crosses the book (0: never)"
    )
    parser.add_argument(
        "--settle", type=float, default=60, help="seconds to wait for the database to catch up"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    host = urlparse(args.base_url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("only a stack on this machine (127.0.0.1) may be targeted")
    result = asyncio.run(main_async(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
