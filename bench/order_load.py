"""Load test of order entry through the private REST API, on this machine.

    # against a running stack (web, engine, worker), e.g. started as make run starts it:
    VAR_DIR=/tmp/order_load DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_bench \\
        REDIS_URL=redis://127.0.0.1:6379/14 REDIS_ACCEPT_DATA_LOSS=true WEB_WORKERS=2 PORT=8010 make run
    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/order_load.py --base-url http://127.0.0.1:8010
    # or a stack of its own, started from a checkout (this one by default) and stopped after:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_orderbench REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/order_load.py --start-stack --web-workers 2 [--checkout /other/worktree]

Setup (through the project's own code, as an operator would): ``--clients`` users
``order_load_<i>``, a fresh API key each, and funds deposited through the engine.

Load: each client signs every request with Ed25519 exactly as a Backpack client library does and
talks over keep-alive connections (``bench.http_client``: a minimal HTTP/1.1 client, as the load
generator shares the server's CPUs). It places limit orders on two markets (SOL_USDC and BTC_USDC
by default), alternating; most rest a few ticks away from the middle, one in ``--cross-every``
crosses it and trades with another client's resting order. ``--cancel-share`` of the orders that
rest (half by default) are cancelled again: once a client has more than ``--resting`` of those
waiting, it cancels its oldest (DELETE /api/v1/order).

- Open loop (``--rate R``, the default 700 orders/s): the orders are offered at a fixed rate
  spread over the clients, whether or not earlier ones were answered: a request due while all
  of the client's ``--connections`` keep-alive connections are busy waits for one, and every
  request's latency counts from the moment it was due, so a server that falls behind shows it
  in the latency instead of slowing the offered load down.
- Closed loop (``--rate 0``): each client sends its next request when the previous one was
  answered, as fast as the server allows.

Afterwards the acknowledgements are checked against the engine and the database:
- engine: every order a client believes is still resting appears in its open orders (the
  engine's cache, GET /api/v1/orders), unless the database shows it filled by another client;
- database: once persistence has caught up (up to ``--settle`` seconds), every acknowledged
  order id has its row in accounts_order.
``lost`` counts acknowledged orders missing from either.

CPU: the web processes' CPU time (every process holding the web port's listening socket, and
their children), read from /proc before and after the load, divided by the requests answered:
``web_cpu_ms_per_request``. Likewise the share of a CPU that the engine, the Celery worker, Redis
(the whole server, whoever else uses it) and this load generator used during the load.

Only 127.0.0.1/localhost is accepted as a target. The figures: orders placed (acknowledged) per
second; latency percentiles over every request (placements and cancels); ``errors`` counts
transport failures and any unexpected status (a cancel that finds its order already filled by
someone else is expected and counted apart). Last line: one JSON object {"orders_per_s",
"p50_ms", "p99_ms", "errors", "lost", "web_cpu_ms_per_request", "requests_per_s",
"offered_orders_per_s", "web_workers", "cpu_share"}.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

import django  # noqa: E402
import uvloop  # noqa: E402

django.setup()


from django.contrib.auth import get_user_model  # noqa: E402

from accounts import services, signing  # noqa: E402
from bench import procstat  # noqa: E402
from bench.http_client import Connection  # noqa: E402
from bench.stack import LOCAL_HOSTS, free_port, require_local, wait_listening  # noqa: E402
from history.models import Order  # noqa: E402
from markets.models import Market  # noqa: E402

# Funds per client: far more than the run can lock, so no order is refused for funds.
FUNDS = {"USDC": "100000000", "SOL": "1000000", "BTC": "10000", "ETH": "100000"}
# A keep-alive connection idle for longer is not used again: uvicorn closes idle connections after
# 5 s, and a request sent as it does so would be lost (as any HTTP client, this one stays under it).
KEEP_ALIVE_S = 4.0


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
    answers: list[tuple[float, float, str]] = field(default_factory=list)  # (due, latency s, kind)
    placed: int = 0
    cancelled: int = 0
    cancel_missed: int = 0  # the order was filled by another client first: expected
    connections: int = 0  # connections opened during the load
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        """Requests that got an HTTP response, whatever its status."""
        return len(self.answers)

    def latencies(self, kind: str | None = None) -> list[float]:
        return [latency for _, latency, k in self.answers if kind is None or k == kind]

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
    believed_open: set[int] = field(default_factory=set)  # acknowledged resting, not cancelled
    to_cancel: deque = field(default_factory=deque)  # (order id, symbol), oldest first
    next_client_id: int = 1
    idle: list[tuple[Connection, float]] = field(default_factory=list)  # (connection, last used)
    slots: asyncio.Semaphore | None = None  # at most --connections requests in flight

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


# --- a stack of its own (--start-stack) -------------------------------------------------------


def recreate_database(url: str, force: bool) -> None:
    """Drop and create the database of ``url`` (PostgreSQL), so that each stack starts empty."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name and not force:
        raise SystemExit(f"--start-stack recreates database {name!r}: a name with 'bench' in it, or --force")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Stack:
    """engine, Celery worker and web (``manage.py run_web``, ``--web-workers`` processes), run
    from ``checkout`` as the Procfile runs them, on this process's DATABASE_URL and REDIS_URL
    (recreated and flushed first), with a VAR_DIR of its own."""

    def __init__(self, checkout: Path, web_workers: int):
        self.checkout = checkout
        self.web_workers = web_workers
        self.var_dir = Path(tempfile.mkdtemp(prefix="order-load-"))
        self.port = free_port()
        python = checkout / ".venv" / "bin" / "python"
        self.python = str(python) if python.exists() else sys.executable
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "VAR_DIR": str(self.var_dir),
            "ENGINE_SNAPSHOT_DIR": str(self.var_dir / "snapshots"),
            "REDIS_ACCEPT_DATA_LOSS": "true",  # a throwaway Redis db: nothing to keep
            "DEBUG": "false",  # as in production: no debug query log
            "WEB_WORKERS": str(web_workers),
            "PORT": str(self.port),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.procs: dict[str, subprocess.Popen] = {}

    def run(self, *argv: str) -> None:
        subprocess.run([self.python, *argv], cwd=self.checkout, env=self.env, check=True)

    def spawn(self, name: str, *argv: str) -> None:
        log = open(self.var_dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [self.python, *argv],
            cwd=self.checkout,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    def start(self) -> None:
        self.run("manage.py", "migrate", "--noinput", "--verbosity", "0")
        self.spawn("engine", "manage.py", "run_engine")
        # seed_demo waits for the engine, then makes the demo markets and funds through it
        self.run("manage.py", "seed_demo", "--wait", "90")
        self.spawn(
            "worker",
            "-m",
            "celery",
            "-A",
            "exchange_site",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "2",
            "--without-gossip",
            "--without-mingle",
        )
        self.spawn(
            "web", "manage.py", "run_web", "--port", str(self.port), "--workers", str(self.web_workers)
        )
        if not wait_listening(self.port, time.monotonic() + 60, self.check_alive):
            raise SystemExit(f"the web server did not start; see {self.var_dir / 'web.log'}")
        while len(procstat.tree_pids([self.procs["web"].pid])) <= self.web_workers and self.web_workers > 1:
            time.sleep(0.1)  # uvicorn's supervisor starts its workers after it listens
        time.sleep(2)  # every worker process has imported the project

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited; see {self.var_dir / (name + '.log')}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# --- CPU ---------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of the web, engine, worker and Redis processes, and of this process."""

    def __init__(self, web_port: int, redis_url: str, stack: Stack | None):
        if stack is not None:
            self.groups = {name: [proc.pid] for name, proc in stack.procs.items()}
        else:
            self.groups = {
                "web": procstat.listening_pids(web_port),
                "engine": procstat.pids_with(("run_engine",), redis_url),
                "worker": procstat.pids_with(("celery", "worker"), redis_url),
            }
        self.groups["redis"] = procstat.listening_pids(urlsplit(redis_url).port or 6379)
        self.web_processes = 0

    def read(self) -> dict[str, float]:
        table = procstat.proc_table()
        figures = {}
        for name, roots in self.groups.items():
            pids = procstat.tree_pids(roots, table)
            if name == "web":
                self.web_processes = len(pids)
            figures[name] = procstat.cpu_seconds(pids, table)
        figures["load generator"] = time.process_time()
        return figures


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


class Load:
    def __init__(self, base_url: str, plans: list[MarketPlan], stats: Stats, args):
        url = urlparse(base_url)
        self.host, self.port = url.hostname, url.port or 80
        self.plans, self.stats, self.args = plans, stats, args
        self.tasks: set[asyncio.Task] = set()

    async def request(
        self, client: Client, method: str, path: str, instruction: str, body, kind: str, due: float
    ) -> tuple[int, bytes] | None:
        """One signed request on one of the client's idle connections (a new one if none is
        idle); the latency counts from ``due``, when the request should have been sent."""
        async with client.slots:
            return await self._request(client, method, path, instruction, body, kind, due)

    async def _request(
        self, client: Client, method: str, path: str, instruction: str, body, kind: str, due: float
    ) -> tuple[int, bytes] | None:
        stats = self.stats
        http = None
        while client.idle and http is None:
            http, last_used = client.idle.pop()
            if time.perf_counter() - last_used > KEEP_ALIVE_S:
                http.close()  # the server may be closing it right now
                http = None
        try:
            if http is None:
                http = Connection(self.host, self.port)
                await http.open()
                stats.connections += 1
            text = json.dumps(body).encode()
            response = await asyncio.wait_for(
                http.request(method, path, text, client.headers(instruction, body)), timeout=10
            )
        except Exception as exc:  # a transport failure or a response this client cannot read
            stats.error(f"{kind}: {type(exc).__name__}: {exc}")
            if http is not None:
                http.close()
            await asyncio.sleep(0.1)
            return None
        client.idle.append((http, time.perf_counter()))
        elapsed = time.perf_counter() - due
        stats.answers.append((due, elapsed, kind))
        return response

    def next_order(self, client: Client, n: int, rng: random.Random) -> tuple[dict, bool]:
        """The client's ``n``-th order, and whether it is one to cancel once it rests."""
        args, plans = self.args, self.plans
        plan = plans[n % len(plans)]
        # counted per market: with the markets alternating, a count over all orders would put
        # every crossing order on the same market whenever the two counts share a factor
        nth_of_market = n // len(plans) + 1
        side = "Bid" if rng.random() < 0.5 else "Ask"
        crossing = bool(args.cross_every) and nth_of_market % args.cross_every == 0
        offset = (-2 if side == "Bid" else 2) if crossing else rng.randint(1, 50)
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
        return order, rng.random() < args.cancel_share

    async def place(self, client: Client, order: dict, cancel_it: bool, due: float) -> None:
        response = await self.request(client, "POST", "/api/v1/order", "orderExecute", order, "place", due)
        if response is None:
            return
        status, content = response
        if status != 200:
            self.stats.error(f"place: {status} {content[:200]!r}")
            return
        placed = json.loads(content)
        self.stats.placed += 1
        order_id = int(placed["id"])
        client.acked[order_id] = order["symbol"]
        if placed["status"] in ("New", "PartiallyFilled"):
            client.believed_open.add(order_id)
            if cancel_it:
                client.to_cancel.append((order_id, order["symbol"]))
        if len(client.to_cancel) > self.args.resting:
            old_id, old_symbol = client.to_cancel.popleft()
            if self.args.rate:
                self.spawn(self.cancel(client, old_id, old_symbol))
            else:
                await self.cancel(client, old_id, old_symbol)

    async def cancel(self, client: Client, order_id: int, symbol: str) -> None:
        client.believed_open.discard(order_id)  # unknown until answered; gone once answered
        body = {"symbol": symbol, "orderId": str(order_id)}
        response = await self.request(
            client, "DELETE", "/api/v1/order", "orderCancel", body, "cancel", time.perf_counter()
        )
        if response is None:
            return
        status, content = response
        if status == 200:
            self.stats.cancelled += 1
        elif status == 404:
            self.stats.cancel_missed += 1  # filled by a crossing order of another client
        else:
            self.stats.error(f"cancel: {status} {content[:200]!r}")

    def spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def closed_loop(self, client: Client, deadline: float, rng: random.Random) -> None:
        n = 0
        while time.perf_counter() < deadline:
            order, cancel_it = self.next_order(client, n, rng)
            n += 1
            await self.place(client, order, cancel_it, time.perf_counter())

    async def open_loop(self, client: Client, start: float, deadline: float, rng: random.Random) -> None:
        interval = self.args.clients / self.args.rate  # each client's share of the offered rate
        due = start + interval * client.index / self.args.clients  # the clients take turns
        n = 0
        while due < deadline:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            order, cancel_it = self.next_order(client, n, rng)
            n += 1
            self.spawn(self.place(client, order, cancel_it, due))
            due += interval

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks))


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


def wait_for_persistence(settle_s: float) -> bool:
    """Wait until the database holds every event the engine produced (``ExchangeState.persisted``:
    the engine queues each batch into the outbox in the flush that answers its commands)."""
    from operations.state import exchange_state

    deadline = time.monotonic() + settle_s
    while True:
        if exchange_state().persisted:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)


def order_rows(order_ids: set[int]) -> dict[int, str]:
    """The status in the database of each of ``order_ids`` that has a row."""
    statuses: dict[int, str] = {}
    ids = list(order_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        statuses.update(Order.objects.filter(order_id__in=chunk).values_list("order_id", "status"))
    return statuses


async def main_async(args, base_url: str, meter: CpuMeter) -> dict:
    # Django's ORM is synchronous: the setup and the database checks run in a worker thread.
    clients = await asyncio.to_thread(make_clients, args.clients)
    plans = await asyncio.to_thread(market_plans, args.markets)
    for client in clients:  # leftovers of an interrupted earlier run
        await cancel_everything(base_url, client, plans)

    stats = Stats()
    load = Load(base_url, plans, stats, args)
    rng = random.Random(args.seed)
    for client in clients:
        client.slots = asyncio.Semaphore(args.connections)
    # This process is the clock: a pause of its own delays every request due meanwhile, and
    # that delay counts as the server's latency. Its full GC passes walk Django and the
    # clients (>100k objects, tens of ms each), so the collector stays off for the load.
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu_before = meter.read()
    start = time.perf_counter()
    deadline = start + args.seconds
    if args.rate:
        runs = (load.open_loop(c, start, deadline, random.Random(rng.random())) for c in clients)
    else:
        runs = (load.closed_loop(c, deadline, random.Random(rng.random())) for c in clients)
    await asyncio.gather(*runs)
    await load.drain()
    duration = time.perf_counter() - start
    cpu_after = meter.read()
    gc.enable()
    for client in clients:
        for http, _ in client.idle:
            http.close()
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}

    # Engine: what each client believes rests must be in its open orders (or filled meanwhile).
    engine_open: set[int] = set()
    for client in clients:
        engine_open |= await open_orders(base_url, client)
    acked = {oid for c in clients for oid in c.acked}
    believed_open = {oid for c in clients for oid in c.believed_open}
    caught_up = await asyncio.to_thread(wait_for_persistence, args.settle)
    statuses = await asyncio.to_thread(order_rows, acked)
    missing_rows = acked - statuses.keys()
    not_in_engine = {oid for oid in believed_open - engine_open if statuses.get(oid) != "Filled"}
    for client in clients:
        await cancel_everything(base_url, client, plans)

    all_latencies = stats.latencies()
    if args.latency_log:
        with args.latency_log.open("w") as out:
            out.write("due_s,latency_ms,kind\n")
            for due, latency, kind in sorted(stats.answers):
                out.write(f"{due - start:.4f},{latency * 1000:.2f},{kind}\n")
    web_ms = cpu["web"] * 1000 / stats.answered if stats.answered else 0.0
    result = {
        "orders_per_s": round(stats.placed / duration, 1),
        "p50_ms": round(percentile(all_latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(all_latencies, 0.99) * 1000, 2),
        "errors": stats.errors,
        "lost": len(missing_rows | not_in_engine),
        "web_cpu_ms_per_request": round(web_ms, 3),
        "requests_per_s": round(stats.answered / duration, 1),
        "offered_orders_per_s": args.rate or None,
        "web_workers": args.web_workers_seen,
        "cpu_share": {name: round(seconds / duration, 3) for name, seconds in cpu.items()},
    }
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the end")
    mode = f"open loop, {args.rate} orders/s offered" if args.rate else "closed loop"
    print(
        f"target: {base_url}; {mode}; clients: {args.clients}; seconds: {args.seconds}; "
        f"markets: {args.markets}; cancel share {args.cancel_share}; web processes: {meter.web_processes}"
    )
    print(
        f"placed {stats.placed} orders in {duration:.1f} s: {result['orders_per_s']} orders/s; "
        f"cancelled {stats.cancelled} ({stats.cancel_missed} already filled); "
        f"requests {result['requests_per_s']}/s; connections opened {stats.connections}"
    )
    for name, values in (
        ("all requests", all_latencies),
        ("place", stats.latencies("place")),
        ("cancel", stats.latencies("cancel")),
    ):
        print(
            f"latency {name}: p50 {percentile(values, 0.5) * 1000:.2f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.2f} ms, max {max(values, default=0) * 1000:.2f} ms"
        )
    print(
        f"CPU: web {web_ms:.3f} ms per request ({cpu['web']:.1f} s); share of one CPU over the load: "
        + ", ".join(f"{name} {seconds / duration:.2f}" for name, seconds in cpu.items())
        + " (redis: the whole server)"
    )
    print(f"errors: {stats.errors}" + (f" e.g. {stats.error_samples[:3]}" if stats.errors else ""))
    print(
        f"verification: {len(acked)} acknowledged orders; persistence caught up: {caught_up}; "
        f"missing from the database: {len(missing_rows)}; "
        f"resting orders missing from the engine: {len(not_in_engine)}"
        + (f" e.g. {[(o, statuses.get(o)) for o in sorted(not_in_engine)[:5]]}" if not_in_engine else "")
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--rate", type=float, default=700, help="orders offered per second, all clients (0: closed loop)"
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--connections",
        type=int,
        default=8,
        help="keep-alive connections per client at most (open loop: a request due while all are "
        "busy waits for one, and its latency counts from when it was due)",
    )
    parser.add_argument("--markets", type=lambda s: s.split(","), default=["SOL_USDC", "BTC_USDC"])
    parser.add_argument(
        "--cancel-share", type=float, default=0.5, help="share of the resting orders cancelled again"
    )
    parser.add_argument(
        "--resting", type=int, default=5, help="orders to cancel a client keeps resting before cancelling"
    )
    parser.add_argument(
        "--cross-every", type=int, default=10, help="one order in N crosses the book (0: never)"
    )
    parser.add_argument(
        "--settle", type=float, default=60, help="seconds to wait for the database to catch up"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency-log",
        type=Path,
        help="write every request's due time (s from the start), latency (ms) and kind to this CSV",
    )
    parser.add_argument(
        "--start-stack",
        action="store_true",
        help="start engine, worker and web from --checkout on DATABASE_URL (recreated) and REDIS_URL "
        "(flushed), and stop them after",
    )
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the code the stack runs (--start-stack)")
    parser.add_argument(
        "--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "1")), help="(--start-stack)"
    )
    parser.add_argument(
        "--force", action="store_true", help="recreate a database without 'bench' in its name"
    )
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "")
    stack = None
    if args.start_stack:
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url.startswith("postgres") or not redis_url:
            raise SystemExit("--start-stack needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        require_local(database_url, "DATABASE_URL")
        require_local(redis_url, "REDIS_URL")
        from django.db import connections

        connections.close_all()
        recreate_database(database_url, args.force)
        from exchange_site.redis_client import get_redis

        get_redis().flushdb()
        stack = Stack(args.checkout.resolve(), args.web_workers)
        print(
            f"stack: {stack.checkout} (git {git_head(stack.checkout)}), {args.web_workers} web process(es), "
            f"port {stack.port}, logs in {stack.var_dir}",
            flush=True,
        )
        stack.start()
        base_url = f"http://127.0.0.1:{stack.port}"
    else:
        base_url = args.base_url
        if urlparse(base_url).hostname not in LOCAL_HOSTS:
            raise SystemExit("only a stack on this machine (127.0.0.1) may be targeted")
    try:
        meter = CpuMeter(urlparse(base_url).port or 80, redis_url, stack)
        if stack is not None:
            args.web_workers_seen = args.web_workers
        else:  # uvicorn with several workers: a supervisor and the workers hold the socket
            holders = len(meter.groups["web"])
            args.web_workers_seen = holders - 1 if holders > 1 else holders
        # The load generator shares the server's CPUs: the lighter its event loop, the less
        # of the figures is its own.
        result = uvloop.run(main_async(args, base_url, meter))
    finally:
        if stack is not None:
            stack.stop()
    print(json.dumps(result))


def git_head(checkout: Path) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
