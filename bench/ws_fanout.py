"""Websocket fan-out: many clients on the public streams while orders flow at a fixed rate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange REDIS_URL=redis://127.0.0.1:6379/13 \\
        WEB_WORKERS=1 python bench/ws_fanout.py [--seconds 20] [--runs 100x100,300x100,1000x100,100x1000]
        [--client-procs 2] [--layer redis|pubsub] [--fanout process|connection]

Starts its own stack on 127.0.0.1 (nothing else is accepted): ``manage.py run_engine`` and
``manage.py run_web`` (uvicorn, ``WEB_WORKERS`` processes) against REDIS_URL, **which is
flushed first** (default db 13), and DATABASE_URL (migrated; SOL_USDC is created if missing).
``--layer pubsub`` runs both with channels_redis's RedisPubSubChannelLayer (through a generated
settings module), ``--layer redis`` (the default) with the project's settings, which use that
same layer since it was measured here (bench/README.md). ``--fanout connection`` makes every
connection join the public groups itself (Channels' usual shape) instead of one channel per web
process (``streams.hub``).

Each run ``<clients>x<orders per second>``: the clients connect and subscribe to
``trade.SOL_USDC`` and ``depth.200ms.SOL_USDC`` (every tenth also to ``depth.SOL_USDC``); then
limit orders from 20 funded accounts are appended to the engine's command stream at the fixed
rate for ``--seconds`` (a quarter of them cross the spread and trade); then the flow stops, the
engine is asked for one last reply (so everything before it is applied) and the clients drain
until no frame has arrived for 2 s (at most 60 s: late frames count, missing ones do not).
Measured on the clients:
* frames delivered per second (all clients, from the first order to the last frame);
* delivered fraction: per client and stream, the share of the run's events it received (trades
  by count against the engine's trade ids, depth streams by the update ids their events
  cover), averaged; and how many clients got every event of every stream;
* latency of each frame from its engine event time ``E`` (the command's stream-entry time, in
  ms, so queueing in the engine is included) to its arrival, p50/p99, per stream.
The clients are minimal asyncio websocket clients (no compression, no library) spread over
``--client-procs`` processes, so that they cost the machine as little as possible; they share
it with the server, the engine and Redis, so the figures are what one machine does, not what
the server does alone.

Last line: one JSON object for the 1,000-client run:
{"clients", "frames_per_s", "delivered_fraction", "p50_ms", "p99_ms"} (latency of trade frames).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

import orjson  # noqa: E402

from bench import procstat  # noqa: E402
from bench.stack import free_port, require_local, wait_listening  # noqa: E402

SYMBOL = "SOL_USDC"
ACCOUNTS = range(900_001, 900_021)  # engine accounts of the bench (no users needed)
MID = 14_000  # ticks: 140.00
HIST_MS = 30_000  # latency histogram: 1 ms buckets up to 30 s
STREAMS = ("trade", "depth200", "depth")


# --- the stack -------------------------------------------------------------------------------


def pubsub_settings_dir() -> Path:
    """A settings module that is the project's with RedisPubSubChannelLayer."""
    folder = Path(tempfile.mkdtemp(prefix="ws-fanout-settings-"))
    (folder / "ws_fanout_pubsub_settings.py").write_text(
        "from exchange_site.settings import *  # noqa: F401,F403\n"
        "from exchange_site.settings import REDIS_URL\n"
        "CHANNEL_LAYERS = {'default': {'BACKEND': 'channels_redis.pubsub.RedisPubSubChannelLayer',\n"
        "                              'CONFIG': {'hosts': [REDIS_URL]}}}\n"
    )
    return folder


class Stack:
    def __init__(self, web_workers: int, layer: str, fanout: str, log_dir: Path):
        self.web_workers = web_workers
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "ENGINE_SNAPSHOT_DIR": str(log_dir / "snapshots"),
            "REDIS_ACCEPT_DATA_LOSS": "true",  # a throwaway Redis db: nothing to keep
            "STREAMS_FANOUT": fanout,
        }
        if layer == "pubsub":
            folder = pubsub_settings_dir()
            self.env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT), self.env.get("PYTHONPATH", "")])
            self.env["DJANGO_SETTINGS_MODULE"] = "ws_fanout_pubsub_settings"
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        from engine.client import engine_status

        for name, argv in (
            ("engine", ["manage.py", "run_engine"]),
            ("web", ["manage.py", "run_web", "--port", str(self.port), "--workers", str(self.web_workers)]),
        ):
            log = open(self.log_dir / f"{name}.log", "ab")
            self.procs[name] = subprocess.Popen(
                [sys.executable, *argv],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while not engine_status()[0]:
            self.check_alive()
            if time.monotonic() > deadline:
                sys.exit("engine did not start")
            time.sleep(0.1)
        if not wait_listening(self.port, deadline, self.check_alive):
            sys.exit("web server did not start")
        time.sleep(1.0 * self.web_workers)  # every worker process up

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                sys.exit(f"{name} exited; see {self.log_dir / (name + '.log')}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def web_schedstat(self) -> tuple[int, int]:
        """(ns on a CPU, ns waiting for one) of the web server's processes: how starved it is."""
        on_cpu = waiting = 0
        for pid in procstat.tree_pids([self.procs["web"].pid]):
            try:
                fields = Path(f"/proc/{pid}/schedstat").read_text().split()
            except OSError:
                continue
            on_cpu, waiting = on_cpu + int(fields[0]), waiting + int(fields[1])
        return on_cpu, waiting

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) of each process tree so far."""
        table = procstat.proc_table()
        return {
            name: procstat.cpu_seconds(procstat.tree_pids([proc.pid], table), table)
            for name, proc in self.procs.items()
        }


def prepare_database() -> None:
    from django.core.management import call_command
    from django.db import transaction

    from markets import services

    call_command("migrate", verbosity=0)
    with transaction.atomic():
        sol = services.ensure_asset("SOL", "Solana", 9)
        usdc = services.ensure_asset("USDC", "USD Coin", 6)
        services.ensure_market(
            SYMBOL, sol, usdc, tick_size="0.01", step_size="0.01", min_price="0.01", max_price="1000000",
            min_quantity="0.01", max_quantity="1000000", maker_fee_bps=2, taker_fee_bps=5,
        )  # fmt: skip


def fund_accounts() -> None:
    from engine.client import submit
    from engine.core.messages import Deposit

    for account in ACCOUNTS:
        submit(Deposit(ts=0, account=account, asset="USDC", amount=10**16, tx_id=f"wsb-{account}-usdc"), 30)
        submit(Deposit(ts=0, account=account, asset="SOL", amount=10**17, tx_id=f"wsb-{account}-sol"), 30)


# --- the order flow --------------------------------------------------------------------------


def random_order(rng: random.Random):
    from engine.core.messages import PlaceOrder

    side = rng.choice(("Bid", "Ask"))
    if rng.random() < 0.25:  # crosses: takes the best few levels of the other side
        offset, quantity = -rng.randint(1, 4), rng.randint(100, 400)
    else:  # rests near the mid
        offset, quantity = rng.randint(1, 40), rng.randint(10, 200)
    price = MID - offset if side == "Bid" else MID + offset
    return PlaceOrder(
        ts=0, account=rng.choice(ACCOUNTS), market=SYMBOL, side=side, order_type="Limit", price=price,
        quantity=quantity,
    )  # fmt: skip


def flow(rate: int, seconds: float, rng: random.Random) -> int:
    """Append ``rate`` orders a second for ``seconds``, in 10 ms ticks; returns how many."""
    from engine.client import COMMAND_STREAM, encode
    from exchange_site.redis_client import get_redis

    conn = get_redis()
    started = time.monotonic()
    sent = 0
    tick = 0
    while True:
        tick += 1
        due_at = started + tick * 0.01
        if due_at - started > seconds:
            return sent
        target = int(rate * (due_at - started))
        if target > sent:
            pipe = conn.pipeline(transaction=False)
            for _ in range(target - sent):
                pipe.xadd(COMMAND_STREAM, encode(random_order(rng), None))
            pipe.execute()
            sent = target
        delay = due_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def engine_marks() -> tuple[int, int]:
    """(last trade id, last depth update id) as the engine has published them."""
    from contract import md_cache
    from exchange_site.redis_client import get_redis

    trades = md_cache.read_recent_trades(get_redis(), SYMBOL, 1)
    depth = md_cache.read_depth(get_redis(), SYMBOL)
    return (trades[-1]["id"] if trades else 0, int(depth["lastUpdateId"]) if depth else 0)


def barrier() -> float:
    """Submit one order far from the market and wait for its reply: everything appended before
    it has been applied and published. Returns how long that took."""
    from engine.client import submit
    from engine.core.messages import PlaceOrder

    started = time.monotonic()
    submit(PlaceOrder(ts=0, account=ACCOUNTS[0], market=SYMBOL, side="Bid", order_type="Limit", price=1,
                      quantity=1), 120)  # fmt: skip
    return time.monotonic() - started


# --- the clients -------------------------------------------------------------------------------


class Stats:
    """What one client process saw, mergeable across processes."""

    def __init__(self, progress=None) -> None:
        self.progress = progress  # shared with the parent: frames so far (to see when they stop)
        self.frames = 0
        self.hist = {s: [0] * (HIST_MS + 1) for s in STREAMS}
        self.clients: list[dict] = []  # per client: trades, trade_gaps, depth200/depth update ids
        self.closed_by_server = 0


class WsClient(asyncio.Protocol):
    """A websocket client reduced to what the benchmark needs: handshake, text frames out
    (masked with a zero key, which the protocol allows), text frames in, pongs, close."""

    def __init__(self, stats: Stats, port: int, streams: list[str]):
        self.stats = stats
        self.port = port
        self.streams = streams
        self.buf = bytearray()
        self.upgraded = False
        self.settled = asyncio.get_running_loop().create_future()
        self.counts = {"trades": 0, "trade_gaps": 0, "last_trade": None, "depth200": [], "depth": []}
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            header = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        self.transport.write(header + b"\0\0\0\0" + payload)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(bytes(buf[:200]))
            del buf[: end + 4]
            self.upgraded = True
            self.send(0x1, orjson.dumps({"method": "SUBSCRIBE", "params": self.streams}))
            self.send(0x1, b"settle")  # answered by an error frame once the subscription is in
        now_us = time.time_ns() // 1000
        stats, hist, counts = self.stats, self.stats.hist, self.counts
        pos, size = 0, len(buf)
        while size - pos >= 2:
            opcode, length = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            if size - start < length:
                break
            payload = bytes(buf[start : start + length])
            pos = start + length
            if opcode == 0x1:
                frame = orjson.loads(payload)
                stream = frame.get("stream")
                if stream is None:
                    if not self.settled.done():
                        self.settled.set_result(True)
                    continue
                data = frame["data"]
                stats.frames += 1
                if stream.startswith("trade."):
                    kind = "trade"
                    t = data["t"]
                    if counts["last_trade"] is not None and t != counts["last_trade"] + 1:
                        counts["trade_gaps"] += 1
                    counts["last_trade"] = t
                    counts["trades"] += 1
                else:
                    kind = "depth200" if stream.startswith("depth.200ms.") else "depth"
                    counts[kind].append((data["U"], data["u"]))
                hist[kind][max(0, min((now_us - data["E"]) // 1000, HIST_MS))] += 1
            elif opcode == 0x9:
                self.send(0xA, payload)
            elif opcode == 0x8:
                self.closed = True
        del buf[:pos]
        if stats.progress is not None:
            stats.progress.value = stats.frames

    def connection_lost(self, exc) -> None:
        if not self.settled.done():
            self.settled.set_exception(ConnectionError(f"connection lost: {exc}"))
        self.closed = True


async def run_clients(conn, port: int, count: int, first_index: int, progress) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats(progress)
    clients: list[WsClient] = []
    gate = asyncio.Semaphore(50)  # connect in waves, as a real crowd would

    async def open_one(index: int) -> None:
        streams = [f"trade.{SYMBOL}", f"depth.200ms.{SYMBOL}"] + (
            [f"depth.{SYMBOL}"] if index % 10 == 0 else []
        )
        async with gate:
            _, client = await loop.create_connection(
                lambda: WsClient(stats, port, streams), "127.0.0.1", port
            )
            await asyncio.wait_for(client.settled, 30)
        clients.append(client)

    await asyncio.gather(*(open_one(first_index + i) for i in range(count)))
    conn.send("ready")
    cpu_at_ready = time.process_time()
    await loop.run_in_executor(None, conn.recv)  # "stop"
    for client in clients:
        c = client.counts
        stats.clients.append(
            {"trades": c["trades"], "trade_gaps": c["trade_gaps"], "depth200": c["depth200"],
             "depth": c["depth"] if client.streams[-1].startswith("depth.SOL") else None}
        )  # fmt: skip
        stats.closed_by_server += client.closed
        client.transport.close()
    conn.send(
        {"frames": stats.frames, "hist": stats.hist, "clients": stats.clients,
         "closed_by_server": stats.closed_by_server, "cpu_s": time.process_time() - cpu_at_ready}
    )  # fmt: skip


def client_process(conn, port: int, count: int, first_index: int, progress) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run_clients(conn, port, count, first_index, progress))


def pubsub_probe(conn, redis_url: str) -> None:
    """Latency of the same trade events on Redis pub/sub, which the engine publishes just before
    its channel-layer sends: the engine's share of the websocket latency."""
    import redis

    hist = [0] * (HIST_MS + 1)
    pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"trade.{SYMBOL}")
    conn.send("ready")
    while not conn.poll():
        message = pubsub.get_message(timeout=0.05)
        if message is not None:
            now_us = time.time_ns() // 1000
            hist[max(0, min((now_us - orjson.loads(message["data"])["E"]) // 1000, HIST_MS))] += 1
    conn.send(hist)


# --- one run --------------------------------------------------------------------------------------


def drain(progress, quiet_s: float = 2.0, limit_s: float = 60.0) -> float:
    """Wait until no client has received a frame for ``quiet_s`` (at most ``limit_s``): frames
    still queued when the flow stops are late, not lost. Returns how long after the flow."""
    started = time.monotonic()
    last, changed_at = None, started
    while time.monotonic() - started < limit_s:
        now_frames = sum(p.value for p in progress)
        if now_frames != last:
            last, changed_at = now_frames, time.monotonic()
        elif time.monotonic() - changed_at >= quiet_s:
            break
        time.sleep(0.1)
    return changed_at - started


def covered(ranges: list[tuple[int, int]], low: int, high: int) -> int:
    """Update ids in (low, high] covered by the events' [U, u] ranges."""
    return sum(max(0, min(u, high) - max(U, low + 1) + 1) for U, u in ranges)


def percentile(hist: list[int], q: float) -> float | None:
    total = sum(hist)
    if not total:
        return None
    rank, seen = q * total, 0
    for ms, n in enumerate(hist):
        seen += n
        if seen >= rank:
            return ms + 0.5
    return float(HIST_MS)


def run(stack: Stack, clients: int, rate: int, seconds: float, procs: int, seed: int) -> dict:
    ctx = multiprocessing.get_context("fork")
    pipes, workers, progress = [], [], []
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    first = 0
    for n in per:
        if not n:
            continue
        parent, child = ctx.Pipe()
        progress.append(ctx.RawValue("q", 0))
        worker = ctx.Process(
            target=client_process, args=(child, stack.port, n, first, progress[-1]), daemon=True
        )
        worker.start()
        pipes.append(parent)
        workers.append(worker)
        first += n
    probe_pipe, probe_child = ctx.Pipe()
    probe = ctx.Process(target=pubsub_probe, args=(probe_child, os.environ["REDIS_URL"]), daemon=True)
    probe.start()
    for pipe in [*pipes, probe_pipe]:
        if not pipe.poll(120):
            sys.exit("clients did not connect in time")
        assert pipe.recv() == "ready"
    time.sleep(0.5)

    trade_before, depth_before = engine_marks()
    cpu_before = stack.cpu_seconds()
    sched_before = stack.web_schedstat()
    started = time.monotonic()
    sent = flow(rate, seconds, random.Random(seed))
    flow_s = time.monotonic() - started
    barrier_s = barrier()
    trade_after, depth_after = engine_marks()
    drain_s = drain(progress)
    cpu_after = stack.cpu_seconds()
    sched_after = stack.web_schedstat()
    wall = time.monotonic() - started
    for pipe in pipes:
        pipe.send("stop")
    results = [pipe.recv() for pipe in pipes]
    probe_pipe.send("stop")
    probe_hist = probe_pipe.recv()
    for worker in [*workers, probe]:
        worker.join(30)

    expected_trades = trade_after - trade_before
    expected_depth = depth_after - depth_before
    hist = {s: [sum(r["hist"][s][i] for r in results) for i in range(HIST_MS + 1)] for s in STREAMS}
    shares, complete = [], 0
    for r in results:
        for c in r["clients"]:
            mine = [
                c["trades"] / expected_trades if expected_trades else 1.0,
                covered(c["depth200"], depth_before, depth_after) / expected_depth if expected_depth else 1.0,
            ]
            if c["depth"] is not None:
                mine.append(
                    covered(c["depth"], depth_before, depth_after) / expected_depth if expected_depth else 1.0
                )
            shares.extend(min(1.0, x) for x in mine)
            complete += all(x >= 1.0 for x in mine) and c["trade_gaps"] == 0
    frames = sum(r["frames"] for r in results)
    return {
        "clients": clients,
        "orders_per_s": rate,
        "orders": sent,
        "trades_per_s": round(expected_trades / flow_s, 1),
        # over the time the frames took to arrive: the production rate when the clients keep up,
        # what the server managed when they do not
        "frames_per_s": round(frames / (flow_s + barrier_s + drain_s)),
        "delivered_fraction": round(sum(shares) / len(shares), 6) if shares else 0.0,
        "complete_clients": complete,
        "closed_by_server": sum(r["closed_by_server"] for r in results),
        "p50_ms": percentile(hist["trade"], 0.50),
        "p99_ms": percentile(hist["trade"], 0.99),
        "depth200_p50_ms": percentile(hist["depth200"], 0.50),
        "depth200_p99_ms": percentile(hist["depth200"], 0.99),
        "depth_p99_ms": percentile(hist["depth"], 0.99),
        "pubsub_p50_ms": percentile(probe_hist, 0.50),
        "pubsub_p99_ms": percentile(probe_hist, 0.99),
        "engine_backlog_s": round(barrier_s, 3),
        "drain_s": round(drain_s, 1),
        "web_runqueue_wait": round(
            (sched_after[1] - sched_before[1]) / max(1, sched_after[0] - sched_before[0]), 2
        ),
        "cpu_s_per_s": {
            **{k: round((cpu_after[k] - cpu_before[k]) / wall, 2) for k in cpu_after},
            "clients": round(sum(r["cpu_s"] for r in results) / wall, 2),
        },
        "web_us_per_frame": round((cpu_after["web"] - cpu_before["web"]) / frames * 1e6, 1)
        if frames
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default="100x100,300x100,1000x100,100x1000",
                        help="comma-separated <clients>x<orders per second>")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "1")))
    parser.add_argument("--layer", choices=("redis", "pubsub"), default="redis")
    parser.add_argument(
        "--fanout",
        choices=("process", "connection"),
        default="process",
        help="public streams: one channel per web process (streams.hub) or one per connection",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    require_local(os.environ["REDIS_URL"], "REDIS_URL")
    require_local(os.environ.get("DATABASE_URL", "sqlite://"), "DATABASE_URL")
    runs = [tuple(int(x) for x in r.split("x")) for r in args.runs.split(",")]

    import django

    django.setup()
    from django.conf import settings

    from exchange_site.redis_client import get_redis

    get_redis().flushdb()
    prepare_database()
    log_dir = Path(tempfile.mkdtemp(prefix="ws-fanout-"))
    (log_dir / "snapshots").mkdir()
    stack = Stack(args.web_workers, args.layer, args.fanout, log_dir)
    project_layer = settings.CHANNEL_LAYERS["default"]
    layer = (
        "RedisPubSubChannelLayer"
        if args.layer == "pubsub"
        else project_layer["BACKEND"].rsplit(".", 1)[-1]
        + " (the project's settings) "
        + json.dumps({k: v for k, v in project_layer.get("CONFIG", {}).items() if k != "hosts"})
    )
    print(
        f"# ws_fanout: uvicorn (manage.py run_web), {args.web_workers} web process(es); channel layer {layer}"
    )
    print(
        f"# {os.cpu_count()} CPUs; {args.client_procs} client processes; {args.seconds:g} s of orders a run; "
        f"logs {log_dir}"
    )
    stack.start()
    results = []
    try:
        fund_accounts()
        for i, (clients, rate) in enumerate(runs):
            result = run(stack, clients, rate, args.seconds, args.client_procs, args.seed + i)
            results.append(result)
            print(
                f"{clients:>5} clients {rate:>5} orders/s: {result['trades_per_s']:>6} trades/s, "
                f"{result['frames_per_s']:>7} frames/s delivered, "
                f"delivered {result['delivered_fraction']:.4f} "
                f"({result['complete_clients']}/{clients} complete, {result['closed_by_server']} closed), "
                f"trade p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms, "
                f"depth.200ms p50 {result['depth200_p50_ms']} p99 {result['depth200_p99_ms']} ms, "
                f"(pub/sub trade p50 {result['pubsub_p50_ms']} p99 {result['pubsub_p99_ms']} ms), "
                f"engine backlog {result['engine_backlog_s']} s, drained {result['drain_s']} s after, "
                f"cpu/s {result['cpu_s_per_s']}, web run-queue wait/cpu {result['web_runqueue_wait']}, "
                f"web cpu {result['web_us_per_frame']} us/frame",
                flush=True,
            )
    finally:
        stack.stop()
    main_run = next((r for r in results if r["clients"] == 1000), results[-1] if results else None)
    if main_run:
        print(
            json.dumps(
                {
                    k: main_run[k]
                    for k in ("clients", "frames_per_s", "delivered_fraction", "p50_ms", "p99_ms")
                }
            )
        )


if __name__ == "__main__":
    main()
