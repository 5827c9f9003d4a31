"""The fault tests' cluster: every process of the exchange for real, two traders trading through
the REST API, and what must hold after any fault.

``cluster`` starts, for one test, from the repository: a private redis-server of the test's own
(append-only, fsync always, no eviction, on a free port and in a directory of its own, so that
``kill -9`` and a start on the same port and directory bring its data back), the web
(``manage.py run_web``), one engine (``manage.py run_engine``; a test may start more) and the
persistence worker (Celery, one solo process), all on the pytest-django test database, then
funds two traders through ``manage.py deposit``. Every process is killed when the test ends,
passed or failed.

``Load`` makes the two traders send signed orders and cancels (limit orders around 100.00,
some crossing, some market orders) through ``/api/v1/order`` at a modest rate, each from a
thread of its own, and records every reply. ``assert_exchange_consistent`` is what every fault
test ends with: once the load stopped and the engine caught up, it reads the public book, stops
the engine with SIGTERM, waits for persistence, and checks that no acknowledged order was lost,
no fill was written twice, every asset is conserved, the book is the open orders, and
``manage.py reconcile`` finds the engine and the database in agreement.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import (
    ROOT,
    celery_worker_argv,
    database_url_for_subprocesses,
    free_port,
    persistence_settled,
    run_manage,
    wait_until,
)

SYMBOL = "SOL_USDC"
FUNDS = {"USDC": "1000000", "SOL": "10000"}  # per trader, through `manage.py deposit`
LEASE_TTL_S = 2.0  # ENGINE_LEASE_TTL_S of every process: a takeover takes seconds, not minutes
MID_TICKS = 10_000  # the load trades around 100.00 USDC (tick 0.01)
HTTP_TIMEOUT_S = 20.0  # well past the engine's reply timeout (5 s): the server answers first
ORDER_PATH = "/api/v1/order"
LOG_TAIL_CHARS = 2500

logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would bury any failure


# --- processes ---------------------------------------------------------------------------------


class Proc:
    """One subprocess, in a process group of its own (so that its children, such as the
    engine's snapshot writer, go with it), its stdout and stderr each in a file."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.out_path = log_dir / f"{name}.out"
        self.err_path = log_dir / f"{name}.err"
        self.popen: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> Proc:
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.popen = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=err, start_new_session=True
            )
        self.started_at = time.monotonic()
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def send(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill9(self) -> None:
        """``kill -9`` of this process alone (a snapshot child it forked lives on, as it would)."""
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait(10)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM and the exit code."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
        return self.popen.wait(timeout)

    def destroy(self) -> None:
        """SIGKILL to the whole process group, stopped or not, alive or not."""
        if self.popen is None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace") if self.err_path.exists() else ""

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def tail(self) -> str:
        state = "running" if self.running() else f"exited {self.returncode}"
        return (
            f"--- {self.name} (pid {self.popen.pid if self.popen else '-'}, {state}) stderr:\n"
            f"{self.stderr()[-LOG_TAIL_CHARS:]}\n--- {self.name} stdout:\n{self.stdout()[-LOG_TAIL_CHARS:]}"
        )


def redis_binary() -> str:
    try:
        from exchange_site.management.commands.run_redis import redis_server_binary

        return redis_server_binary()
    except Exception:
        return "/usr/bin/redis-server"


class RedisServer:
    """A durable redis-server of the test's own. ``kill9`` then ``start`` again: the same port,
    the same directory, and the append-only file brings back every write it acknowledged."""

    def __init__(self, directory: Path, log_dir: Path):
        self.dir = directory
        self.dir.mkdir()
        self.log_dir = log_dir
        self.port = free_port()
        self.procs: list[Proc] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def proc(self) -> Proc:
        return self.procs[-1]

    def start(self, timeout: float = 20) -> None:
        argv = [
            redis_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
            "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction",
            "--save", "", "--daemonize", "no",
        ]  # fmt: skip
        proc = Proc(f"redis-{len(self.procs) + 1}", argv, dict(os.environ), self.log_dir).start()
        self.procs.append(proc)
        probe = self.client()

        def answers() -> bool:
            if not proc.running():
                raise AssertionError(f"redis-server exited\n{proc.tail()}")
            try:
                return bool(probe.ping())
            except redis.RedisError:  # not listening yet, or still loading the append-only file
                return False

        try:
            wait_until(answers, timeout, f"redis-server on port {self.port}", proc.tail)
        finally:
            probe.close()

    def kill9(self) -> None:
        self.proc.kill9()

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, socket_connect_timeout=2)


# --- traders -------------------------------------------------------------------------------------


@dataclass
class Trader:
    username: str
    account: int
    secret: str

    def call(self, http: httpx.Client, method: str, path: str, instruction: str, params: dict | None = None):
        """A request signed with the trader's API key: ``params`` are the query of a GET, the JSON
        body otherwise."""
        from accounts.signing import signed_headers

        headers = signed_headers(self.secret, instruction, params, time.time_ns() // 1_000_000)
        if method == "GET":
            return http.get(path, params=params, headers=headers)
        headers["Content-Type"] = "application/json"
        return http.request(method, path, content=json.dumps(params), headers=headers)

    def capital(self, http: httpx.Client) -> dict:
        response = self.call(http, "GET", "/api/v1/capital", "balanceQuery")
        assert response.status_code == 200, response.text
        return response.json()

    def open_orders(self, http: httpx.Client) -> list[dict]:
        params = {"symbol": SYMBOL}
        response = self.call(http, "GET", "/api/v1/orders", "orderQueryAll", params)
        assert response.status_code == 200, response.text
        return response.json()


def price_text(ticks: int) -> str:
    return str(Decimal(ticks) * Decimal("0.01"))


def quantity_text(lots: int) -> str:
    return str(Decimal(lots) * Decimal("0.01"))


@dataclass
class Reply:
    """One request of the load and what came back."""

    trader: str
    action: str  # "place" or "cancel"
    client_id: int | None  # the clientId of a place
    sent: float  # time.monotonic()
    done: float
    status: int | None  # the HTTP status; None when no answer came (connection error)
    body: Any

    @property
    def acknowledged(self) -> bool:
        return self.status == 200

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def order_id(self) -> int:
        return int(self.body["id"])

    def executed_lots(self, step: Decimal) -> int:
        lots = Decimal(self.body["executedQuantity"]) / step
        assert lots == lots.to_integral_value(), self.body
        return int(lots)


class Load:
    """The two traders sending orders and cancels, each from a thread of its own at about
    ``rate`` requests a second, until ``stop``; every reply is kept in ``replies``."""

    def __init__(self, cluster: Cluster, rate: float = 25.0, seed: int = 0):
        self.cluster = cluster
        self.rate = rate
        self.seed = seed
        self.replies: list[Reply] = []  # appended by the threads (atomic under the GIL)
        self._client_ids = itertools.count(random.Random(seed).randrange(1, 2**31))
        self._ids_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def next_client_id(self) -> int:
        with self._ids_lock:
            client_id = next(self._client_ids)
        assert client_id < 2**32
        return client_id

    def start(self) -> Load:
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self._run, args=(trader, random.Random(self.seed * 100 + i), i % 2 == 0), daemon=True
            )
            for i, trader in enumerate(self.cluster.traders)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(HTTP_TIMEOUT_S + 5)
            assert not thread.is_alive(), "a load thread did not stop"
        self._threads = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def acknowledged(self) -> list[Reply]:
        return [r for r in self.replies if r.acknowledged]

    def place(self, trader: Trader, body: dict, http: httpx.Client | None = None) -> Reply:
        """One order (``clientId`` added if missing), its reply recorded with the load's."""
        body = {"symbol": SYMBOL, **body}
        body.setdefault("clientId", self.next_client_id())
        http = http or self.cluster.http
        return self._send(trader, http, "place", "POST", "orderExecute", body, body["clientId"])

    def _send(self, trader: Trader, http, action: str, method: str, instruction: str, body: dict, client_id):
        sent = time.monotonic()
        try:
            response = trader.call(http, method, ORDER_PATH, instruction, body)
            status = response.status_code
            try:
                payload = response.json()
            except ValueError:
                payload = response.text
        except httpx.HTTPError as exc:
            status, payload = None, repr(exc)
        reply = Reply(trader.username, action, client_id, sent, time.monotonic(), status, payload)
        self.replies.append(reply)
        return reply

    def _order(self, rng: random.Random, buyer: bool) -> dict:
        # One trader mostly buys and the other mostly sells, so that most crossing orders meet
        # the other trader's (self-trade prevention refuses the rest).
        side = "Bid" if rng.random() < (0.75 if buyer else 0.25) else "Ask"
        if rng.random() < 0.15:
            return {"side": side, "orderType": "Market", "quantity": quantity_text(rng.randint(1, 100))}
        # Bids mostly below 100.00 and asks mostly above, overlapping by a few ticks: some cross.
        offset = rng.randint(-30, 8) if side == "Bid" else rng.randint(-8, 30)
        return {
            "side": side,
            "orderType": "Limit",
            "price": price_text(MID_TICKS + offset),
            "quantity": quantity_text(rng.randint(1, 300)),
        }

    def _run(self, trader: Trader, rng: random.Random, buyer: bool) -> None:
        resting: dict[int, int] = {}  # this trader's orders last seen open: id -> clientId
        interval = 1 / self.rate
        with httpx.Client(base_url=self.cluster.web_url, timeout=HTTP_TIMEOUT_S) as http:
            next_at = time.monotonic()
            while not self._stop.is_set():
                if resting and rng.random() < 0.2:
                    order_id = rng.choice(list(resting))
                    client_id = resting.pop(order_id)
                    body = {"symbol": SYMBOL, "orderId": str(order_id)}
                    reply = self._send(trader, http, "cancel", "DELETE", "orderCancel", body, None)
                    if reply.code == "MAINTENANCE":  # not taken: still open
                        resting[order_id] = client_id
                else:
                    reply = self.place(trader, self._order(rng, buyer), http)
                    if reply.acknowledged and reply.body["status"] in ("New", "PartiallyFilled"):
                        resting[reply.order_id] = reply.client_id
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_at = time.monotonic()  # after a stall, no burst to catch up


# --- the cluster ---------------------------------------------------------------------------------


class Cluster:
    """Redis, web, engine(s) and worker of one test, and what the test asks of them."""

    def __init__(self, tmp_path: Path, traders: list[Trader]):
        self.traders = traders
        self.log_dir = tmp_path / "logs"
        self.log_dir.mkdir()
        self.redis = RedisServer(tmp_path / "redis", self.log_dir)
        self.snapshot_dir = tmp_path / "snapshots"
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "REDIS_URL": self.redis.url,
            "ENGINE_SNAPSHOT_DIR": str(self.snapshot_dir),
            "ENGINE_LEASE_TTL_S": str(LEASE_TTL_S),
            "ENGINE_SNAPSHOT_EVERY_S": "1",
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
            "PREFLIGHT_REDIS_WAIT_S": "15",
            # The worker's broker hands a batch taken by a worker that died out again after 2 s
            # (tests.persistence.worker_app).
            "CELERY_VISIBILITY_TIMEOUT_S": "2",
        }
        # The private Redis is durable: the engine must accept it without an override.
        for name in ("REDIS_ACCEPT_DATA_LOSS", "DJANGO_ALLOW_ASYNC_UNSAFE", "PORT", "HOST"):
            env.pop(name, None)
        self.env = env
        self.procs: list[Proc] = []
        self.engines: list[Proc] = []
        self.web: Proc | None = None
        self.worker: Proc | None = None
        self.http = httpx.Client(base_url=self.web_url, timeout=HTTP_TIMEOUT_S)
        self.r = self.redis.client()

    # --- starting and stopping ---

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> Proc:
        proc = Proc(name, argv, env or self.env, self.log_dir).start()
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        """Redis, then the engine, the web and the worker side by side; the traders funded."""
        self.redis.start()
        engine = self.start_engine(wait=False)
        self.start_web_and_worker()
        self.wait_engine_serving(engine)
        self.wait_status("Ok")
        self.fund()

    def start_web_and_worker(self) -> None:
        self.web = self._spawn("web", [sys.executable, "manage.py", "run_web", "--port", str(self.web_port)])
        self.worker = self._spawn("worker", celery_worker_argv())
        self.wait_until(self._web_answers, 60, "the web to answer /api/v1/ping")
        self.wait_until(lambda: "ready." in self.worker.stdout() + self.worker.stderr(), 60, "the worker")

    def start_engine(self, wait: bool = True, timeout: float = 45) -> Proc:
        engine = self._spawn(f"engine-{len(self.engines) + 1}", [sys.executable, "manage.py", "run_engine"])
        self.engines.append(engine)
        if wait:
            self.wait_engine_serving(engine, timeout)
        return engine

    def wait_engine_serving(self, engine: Proc, timeout: float = 45) -> None:
        """Until ``engine`` heartbeats as the engine (its pid in ``engine.status``) and lets the
        web append (``engine.accepting``)."""
        from contract.names import ACCEPTING_KEY

        def serving() -> bool:
            if not engine.running():
                raise AssertionError(f"{engine.name} exited with {engine.returncode}\n{self.logs()}")
            status = self.engine_status()
            return bool(status and status["pid"] == engine.pid and self._redis(self.r.exists, ACCEPTING_KEY))

        self.wait_until(serving, timeout, f"{engine.name} to serve")

    def _web_answers(self) -> bool:
        if not self.web.running():
            raise AssertionError(f"the web exited with {self.web.returncode}\n{self.logs()}")
        try:
            return self.http.get("/api/v1/ping", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def manage(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        """``manage.py <args>`` in the cluster's environment, run to its end."""
        return run_manage(*args, env=self.env, timeout=timeout)

    def fund(self) -> None:
        """``manage.py deposit <trader> <asset> <amount>`` for each trader and asset, side by side."""
        runs = [
            (args, subprocess.Popen(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            ))
            for trader in self.traders
            for asset, amount in FUNDS.items()
            for args in [("deposit", trader.username, asset, amount)]
        ]  # fmt: skip
        for args, run in runs:
            out, err = run.communicate(timeout=90)
            assert run.returncode == 0, f"manage.py {' '.join(args)} exited {run.returncode}:\n{out}\n{err}"

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.destroy()
        for proc in self.redis.procs:
            proc.destroy()
        self.http.close()
        self.r.close()

    # --- looking at it ---

    def logs(self) -> str:
        """The tails of every process's logs, for failure messages."""
        return "\n".join(p.tail() for p in [*self.redis.procs, *self.procs])

    def wait_until(self, predicate, timeout: float, what: str, pause: float = 0.05):
        return wait_until(predicate, timeout, what, self.logs, pause)

    def _redis(self, call, *args):
        """A read of the private Redis; None while it is unreachable."""
        try:
            return call(*args)
        except redis.ConnectionError:
            return None

    def engine_status(self) -> dict | None:
        """The heartbeat of the engine that serves (``engine.status``)."""
        from contract.names import STATUS_KEY

        raw = self._redis(self.r.get, STATUS_KEY)
        return json.loads(raw) if raw else None

    def lease_holder(self) -> str | None:
        from engine.lease import LEASE_KEY

        raw = self._redis(self.r.get, LEASE_KEY)
        return raw.decode() if raw else None

    def status(self) -> dict:
        """``GET /api/v1/status``."""
        response = self.http.get("/api/v1/status")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_status(self, wanted: str, timeout: float = 30) -> dict:
        return self.wait_until(
            lambda: (s := self.status())["status"] == wanted and s, timeout, f"/api/v1/status {wanted}"
        )

    def last_command_id(self) -> str:
        from engine.commandlog import COMMAND_STREAM

        return self.r.xinfo_stream(COMMAND_STREAM)["last-generated-id"].decode()

    def wait_caught_up(self, timeout: float = 30) -> None:
        """Until the serving engine's heartbeat names the last entry of the command log."""
        self.wait_until(
            lambda: (s := self.engine_status()) is not None and s["stream_id"] == self.last_command_id(),
            timeout,
            "the engine to apply the whole command log",
        )

    def depth(self) -> dict:
        response = self.http.get("/api/v1/depth", params={"symbol": SYMBOL, "limit": "5000"})
        assert response.status_code == 200, response.text
        return response.json()

    def wait_persisted(self, timeout: float = 60) -> None:
        """Until the persistence outbox is empty (every batch the engine handed over is
        committed), the broker holds no task, and the history tables stayed the same between two
        looks."""
        from history.models import Fill, LedgerEntry, Order, Trade, Transfer
        from history.outbox import outbox

        def counts() -> tuple[int, ...]:
            return tuple(m.objects.count() for m in (Order, Fill, Trade, LedgerEntry, Transfer))

        settled = persistence_settled(self.r, "celery", counts)
        self.wait_until(settled, timeout, f"persistence to empty {outbox().name}", pause=0.25)


@pytest.fixture
def cluster(transactional_db, demo_markets, django_user_model, tmp_path):
    """A running exchange of real processes with two funded traders (``cluster.traders``)."""
    from accounts.services import create_api_key

    traders = []
    for name in ("trader1", "trader2"):
        # No password: hashing one costs a second, and these users never log in.
        user = django_user_model.objects.create(username=name)
        _key, secret = create_api_key(user)
        traders.append(Trader(name, user.pk, secret))
    cluster = Cluster(tmp_path, traders)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


# --- what must hold after any fault ----------------------------------------------------------------


def book_levels(depth: dict, tick: Decimal, step: Decimal) -> dict[tuple[str, int], int]:
    """``/api/v1/depth`` as ``{(side, price in ticks): quantity in lots}``."""
    levels = {}
    for side, key in (("Bid", "bids"), ("Ask", "asks")):
        for price, quantity in depth[key]:
            levels[(side, int(Decimal(price) / tick))] = int(Decimal(quantity) / step)
    return levels


def assert_exchange_consistent(cluster: Cluster, load: Load, engine: Proc) -> None:
    """Once the load has stopped: the engine catches up, the public book is read, the engine
    stops cleanly (SIGTERM: a final snapshot, everything handed to persistence) and persistence
    writes everything; then
    1. every acknowledged order is in the database with at least the executed quantity its reply
       promised, and every order's fills add up to its executed quantity;
    2. no fill is written twice: trade ids run 1..N, each trade has exactly two fills;
    3. every asset is conserved: the ledger's sum (fee account included) = deposits - withdrawals
       = the engine's own totals in its final snapshot = what the traders were funded with;
    4. the public book is the open orders, in the engine's final state and in the database;
    5. ``manage.py reconcile`` finds the engine and the database in agreement."""
    from django.db.models import Sum

    from engine import snapshots
    from engine.core import Engine
    from history.models import Fill, LedgerEntry, Order, Trade, Transfer
    from markets.models import Asset, Market

    assert not load.running
    cluster.wait_caught_up()
    depth = cluster.depth()
    code = engine.terminate()
    assert code == 0, f"{engine.name} exited {code} on SIGTERM\n{cluster.logs()}"
    cluster.wait_persisted()
    final = snapshots.load_newest(cluster.snapshot_dir)
    assert final is not None, f"no snapshot in {cluster.snapshot_dir}\n{cluster.logs()}"
    assert final.stream_id == cluster.last_command_id()  # the final snapshot covers the whole log
    state = Engine.restore(final.core)
    market = Market.objects.get(symbol=SYMBOL)
    tick, step = market.tick_size, market.step_size

    # 1. Nothing acknowledged is lost.
    acknowledged = load.acknowledged()
    assert len(acknowledged) >= 50, f"the load got only {len(acknowledged)} replies through"
    rows = {
        oid: (client_id, executed)
        for oid, client_id, executed in Order.objects.filter(
            order_id__in={r.order_id for r in acknowledged}
        ).values_list("order_id", "client_id", "executed_quantity")
    }
    lost = [(r.trader, r.action, r.body) for r in acknowledged if r.order_id not in rows]
    assert lost == [], f"{len(lost)} acknowledged orders are not in the database"
    short = [
        (r.order_id, r.body["executedQuantity"], rows[r.order_id][1])
        for r in acknowledged
        if rows[r.order_id][1] < r.executed_lots(step)
    ]
    assert short == [], "orders executed less in the database than their replies said (id, reply, lots)"
    wrong_client = [(r.order_id, r.body["clientId"], rows[r.order_id][0]) for r in acknowledged
                    if rows[r.order_id][0] != r.body["clientId"]]  # fmt: skip
    assert wrong_client == []
    filled = dict(Fill.objects.values("order_id").annotate(q=Sum("quantity")).values_list("order_id", "q"))
    unbalanced = [
        (oid, executed, filled.get(oid, 0))
        for oid, executed in Order.objects.values_list("order_id", "executed_quantity")
        if filled.get(oid, 0) != executed
    ]
    assert unbalanced == [], "orders whose fills do not add up to their executed quantity (id, row, fills)"

    # 2. No trade is missing or written twice, no fill duplicated.
    trade_ids = list(
        Trade.objects.filter(market=market).order_by("trade_id").values_list("trade_id", flat=True)
    )
    assert len(trade_ids) >= 10, f"the load made only {len(trade_ids)} trades"
    assert trade_ids == list(range(1, len(trade_ids) + 1))
    assert state.last_trade_id(SYMBOL) == len(trade_ids)
    fills_per_trade = Counter(Fill.objects.filter(market=market).values_list("trade_id", flat=True))
    assert {tid: n for tid, n in fills_per_trade.items() if n != 2} == {}
    assert sorted(fills_per_trade) == trade_ids

    # 3. Conservation, per asset.
    decimals = dict(Asset.objects.values_list("symbol", "decimals"))
    funded = {asset: int(Decimal(amount) * 10 ** decimals[asset]) * len(cluster.traders)
              for asset, amount in FUNDS.items()}  # fmt: skip
    ledger = dict(LedgerEntry.objects.values("asset").annotate(t=Sum("amount")).values_list("asset", "t"))
    moved: dict[str, int] = defaultdict(int)
    for kind, asset, amount in Transfer.objects.values_list("kind", "asset", "amount"):
        moved[asset] += amount if kind == Transfer.Kind.DEPOSIT else -amount
    held = {asset: total for asset, total in state.ledger.totals().items() if total}
    assert {"ledger": ledger, "deposits - withdrawals": dict(moved), "engine": held} == {
        "ledger": funded,
        "deposits - withdrawals": funded,
        "engine": funded,
    }

    # 4. The public book is the open orders.
    public = book_levels(depth, tick, step)
    engine_book: dict[tuple[str, int], int] = defaultdict(int)
    for order in state.all_open_orders():
        if order.market == SYMBOL:
            engine_book[(order.side, order.price)] += order.remaining
    database_book: dict[tuple[str, int], int] = defaultdict(int)
    open_rows = Order.objects.filter(market=market, status__in=("New", "PartiallyFilled"))
    for side, price, quantity, executed in open_rows.values_list(
        "side", "price", "quantity", "executed_quantity"
    ):
        database_book[(side, price)] += quantity - executed
    assert len(public) >= 5, f"a nearly empty book tests nothing: {depth}"
    assert public == dict(engine_book)
    assert dict(database_book) == dict(engine_book)
    assert sorted(open_rows.values_list("order_id", flat=True)) == [
        o.order_id for o in state.all_open_orders() if o.market == SYMBOL
    ]

    # 5. The operator's check agrees.
    result = cluster.manage("reconcile", "--wait", "30")
    assert result.returncode == 0 and "agree" in result.stdout, (
        f"reconcile exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
