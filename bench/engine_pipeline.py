"""Throughput and latency through the engine process: Redis stream in, replies and events out.

    python bench/engine_pipeline.py [--commands 200000] [--rate 5000] [--seconds 5]
                                    [--fsync always|everysec|no]

Starts ``manage.py run_engine`` as its own process against REDIS_URL (default
redis://127.0.0.1:6379/12, flushed first), or with ``--fsync`` against a Redis of its own that
keeps an append-only file on disk fsynced as told (``always`` is what the exchange runs with),
and DATABASE_URL (default: the project's SQLite); creates one market and funded accounts
through the command stream, then:
1. sustained: producer processes append PlaceOrder commands (with reply keys) as fast as they
   can, pipelined; the figure is commands applied per second, first append to last applied;
2. latency: commands offered at a fixed rate, each timed from XADD to its reply.
Last line: {"pipeline_commands_per_s", "p50_ms_at_5k", "p99_ms_at_5k", "fsync"}.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import multiprocessing.synchronize
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

import django  # noqa: E402

django.setup()

import hiredis  # noqa: E402
import orjson  # noqa: E402
import redis  # noqa: E402
import redis.asyncio  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.engine_market import market_commands  # noqa: E402
from engine.client import encode  # noqa: E402
from engine.commandlog import COMMAND_STREAM  # noqa: E402
from engine.core.messages import LIMIT, PlaceOrder  # noqa: E402
from engine.process import STATUS_KEY  # noqa: E402
from exchange_site.management.commands.run_redis import redis_server_binary  # noqa: E402

ACCOUNTS = 20
MID = 10_000  # ticks


def order(rng: random.Random, account: int, client_id: int | None = None) -> PlaceOrder:
    side = rng.choice(("Bid", "Ask"))
    # Mostly resting near the mid, a fifth crossing it.
    offset = rng.randint(-5, 60) if rng.random() < 0.8 else rng.randint(-60, -1)
    price = MID - offset if side == "Bid" else MID + offset
    return PlaceOrder(
        ts=0,
        account=account,
        market="BENCH_USD",
        side=side,
        order_type=LIMIT,
        client_id=client_id,
        price=price,
        quantity=rng.randint(1, 100),
    )


def produce(worker: int, count: int, url: str, start: multiprocessing.synchronize.Barrier) -> None:
    """Append ``count`` commands, 500 per write, once every producer and the clock are ready.
    The figure is the engine's, and on two vCPUs every microsecond a producer spends is taken
    from the engine, Redis or the other producer: the XADDs are packed before the clock starts
    and written straight to the connection (~40 % of a producer's CPU went to encoding the
    commands, and redis-py's pipeline took more than the rest)."""
    conn = redis.Redis.from_url(url)
    rng = random.Random(worker)
    packed = [
        xadd_packed(order(rng, 1 + rng.randrange(ACCOUNTS)), f"bench.r.{worker}.{i}") for i in range(count)
    ]
    link = conn.connection_pool.get_connection()
    start.wait()
    for at in range(0, count, 500):
        chunk = packed[at : at + 500]
        link.send_packed_command([b"".join(chunk)], check_health=False)
        for _ in chunk:
            link.read_response()  # the entry id; raises on an error reply
    conn.connection_pool.release(link)


def xadd_packed(command: PlaceOrder, reply_to: str) -> bytes:
    """The XADD of ``command`` as the bytes Redis reads."""
    entry = encode(command, reply_to)
    return hiredis.pack_command(("XADD", COMMAND_STREAM, "*", *itertools.chain(*entry.items())))


def status(conn) -> dict:
    raw = conn.get(STATUS_KEY)
    return json.loads(raw) if raw else {}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, its reaped children's included (the engine
    forks one per snapshot), from Linux's ``/proc``. The VM's speed varies by up to 2x between
    hours, so the sustained phase's CPU per command (big batches) is the figure to compare code
    by, beside commands/s. At the fixed rate the loop runs back to back as commands trickle in:
    CPU per command times the rate is the share of a CPU the engine keeps busy."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def wait_applied(conn, reply_keys: list[str], timeout: float) -> float:
    """When the replies to the producers' last commands are there: the engine applies the log in
    order, so every command before them is applied too (its heartbeat lags by up to a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.exists(*reply_keys) == len(reply_keys):
            return time.perf_counter()
        time.sleep(0.002)
    raise SystemExit("the engine did not apply the commands in time")


def durable_redis(fsync: str) -> tuple[subprocess.Popen, str]:
    """A Redis of the benchmark's own with its append-only file on this machine's disk."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tempfile.mkdtemp(prefix="bench-redis-", dir=ROOT / "var")
    # The machine's redis-server when there is one: the same build as the Redis without a file
    # the benchmark is compared with (and the latency phase's BLMPOP needs Redis 7).
    argv = [
        shutil.which("redis-server") or redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        data,
        "--save",
        "",
    ]
    argv += ["--appendonly", "yes", "--appendfsync", fsync, "--maxmemory-policy", "noeviction"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return server, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise SystemExit("the benchmark's Redis did not start") from None
            time.sleep(0.05)


LATENCY_REPLY_KEY = "bench.lat"


async def paced(url: str, rate: int, seconds: float) -> list[float]:
    """Commands offered at ``rate`` for ``seconds``, each timed from its XADD to its reply. The
    commands share one reply list and carry their number as the client id, so the client needs
    two connections and a few Redis calls per millisecond instead of a BLPOP per command.

    The client shares the two vCPUs with the engine and Redis, so its own CPU shows up as their
    latency: every XADD is packed before the clock starts and written straight to the
    connection, and each wake-up takes every reply that has arrived in one BLMPOP. Through
    redis-py's pipeline and RPOP/BRPOP it cost ~90 us of CPU per command at the VM's half speed,
    half a CPU at 5,000/s."""
    client = redis.asyncio.Redis.from_url(url)
    await client.delete(LATENCY_REPLY_KEY)
    writer = await client.connection_pool.get_connection()
    reader = await client.connection_pool.get_connection()
    rng = random.Random(7)
    total = int(rate * seconds)
    packed = [
        xadd_packed(order(rng, 1 + rng.randrange(ACCOUNTS), client_id=n), LATENCY_REPLY_KEY)
        for n in range(1, total + 1)
    ]
    take_replies = hiredis.pack_command(("BLMPOP", 5, 1, LATENCY_REPLY_KEY, "RIGHT", "COUNT", 1000))
    sent: dict[int, float] = {}
    latencies: list[float] = []

    async def read() -> None:
        while len(latencies) < total:
            await reader.send_packed_command(take_replies, check_health=False)
            popped = await reader.read_response()
            if popped is None:
                return  # what never came back is reported as missing
            received = time.perf_counter()
            for reply in popped[1]:  # oldest first
                for event in orjson.loads(reply)["events"]:
                    if event.get("client_id") in sent:
                        latencies.append(received - sent.pop(event["client_id"]))
                        break

    reading = asyncio.create_task(read())
    start = time.perf_counter()
    offered = 0
    while offered < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        if due > offered:
            now = time.perf_counter()
            for n in range(offered + 1, due + 1):
                sent[n] = now
            await writer.send_packed_command(b"".join(packed[offered:due]), check_health=False)
            for _ in range(due - offered):
                await writer.read_response()  # the entry id; raises on an error reply
            offered = due
        await asyncio.sleep(0.0005)
    await reading
    await client.connection_pool.release(writer)
    await client.connection_pool.release(reader)
    await client.aclose()
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", help="write a cProfile of the engine process to this file")
    parser.add_argument(
        "--fsync", choices=("always", "everysec", "no"), help="run a Redis of its own with this appendfsync"
    )
    args = parser.parse_args()

    server, url = durable_redis(args.fsync) if args.fsync else (None, settings.REDIS_URL)
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    call_command("migrate", verbosity=0)
    snapdir = tempfile.mkdtemp(prefix="bench-snap-")
    env = {**os.environ, "ENGINE_SNAPSHOT_DIR": snapdir, "LOG_LEVEL": "WARNING", "REDIS_URL": url}
    if args.fsync != "always":
        env["REDIS_ACCEPT_DATA_LOSS"] = "true"  # measuring what keeping less on disk would give
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    engine = subprocess.Popen([sys.executable, *profile, "manage.py", "run_engine"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while not status(conn):
            if time.monotonic() > deadline or engine.poll() is not None:
                raise SystemExit("engine did not start")
            time.sleep(0.05)
        setup = market_commands(
            "BENCH", "USD", ts=0, base_decimals=6, limit=10**9, fees=(2, 5), accounts=ACCOUNTS, funds=10**17
        )
        for command in setup:
            conn.xadd(COMMAND_STREAM, encode(command, None))

        per = args.commands // args.producers
        start = multiprocessing.Barrier(args.producers + 1)
        procs = [
            multiprocessing.Process(target=produce, args=(w, per, url, start)) for w in range(args.producers)
        ]
        for p in procs:
            p.start()
        start.wait(timeout=600)
        cpu0 = cpu_seconds(engine.pid)
        t0 = time.perf_counter()
        for p in procs:
            p.join()
        if any(p.exitcode for p in procs):
            raise SystemExit("a producer failed")
        appended_s = time.perf_counter() - t0
        t1 = wait_applied(conn, [f"bench.r.{w}.{per - 1}" for w in range(args.producers)], timeout=600)
        cpu1 = cpu_seconds(engine.pid)
        total = per * args.producers
        sustained = total / (t1 - t0)
        print(
            f"sustained: {total} commands in {t1 - t0:.2f} s = {sustained:,.0f} commands/s "
            f"(appending alone took {appended_s:.2f} s with {args.producers} producer processes); "
            f"engine CPU {(cpu1 - cpu0) / total * 1e6:.1f} us per command"
        )
        # let reply keys expire from memory pressure's point of view: drop them now
        pipe = conn.pipeline(transaction=False)
        for key in conn.scan_iter("bench.r.*", count=10_000):
            pipe.unlink(key)
        pipe.execute()

        cpu2, client2 = cpu_seconds(engine.pid), time.process_time()
        latencies = asyncio.run(paced(url, args.rate, args.seconds))
        cpu3, client3 = cpu_seconds(engine.pid), time.process_time()
        p50, p99 = pct(latencies, 0.50) * 1000, pct(latencies, 0.99) * 1000
        print(
            f"latency at {args.rate}/s offered for {args.seconds:.0f} s: {len(latencies)} replies, "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(latencies) * 1000:.2f} ms; "
            f"engine CPU {(cpu3 - cpu2) / max(1, len(latencies)) * 1e6:.1f} us per command, "
            f"this client's {(client3 - client2) / max(1, len(latencies)) * 1e6:.1f}"
        )
        print(
            json.dumps(
                {
                    "pipeline_commands_per_s": round(sustained),
                    "p50_ms_at_5k": round(p50, 3),
                    "p99_ms_at_5k": round(p99, 3),
                    "fsync": args.fsync or "the machine's Redis",
                }
            )
        )
    finally:
        engine.terminate()
        engine.wait(30)
        if server is not None:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
