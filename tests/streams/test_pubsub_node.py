"""Cross-language pub/sub: a Node.js process (the ``redis`` npm package, clients/node-subscriber)
subscribed to Redis receives the engine's public events as plain JSON, the same ``data`` objects
as the websocket. When Node or npm is missing, ``redis-cli SUBSCRIBE`` stands in for it."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from django.conf import settings

from engine.client import submit
from engine.core.messages import PlaceOrder

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
NODE_CLIENT = ROOT / "clients" / "node-subscriber"


@pytest.fixture(scope="session")
def node_client_dir(tmp_path_factory) -> Path | None:
    """The Node client with its dependencies: the folder itself if already installed, else a
    copy installed with ``npm ci`` from the lockfile; None without Node and npm."""
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    if (NODE_CLIENT / "node_modules" / "redis").is_dir():
        return NODE_CLIENT
    target = tmp_path_factory.mktemp("node-subscriber")
    for name in ("package.json", "package-lock.json", "subscribe.js"):
        shutil.copy(NODE_CLIENT / name, target / name)
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=target, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        return None  # no registry here: fall back to redis-cli
    return target


class Subscriber:
    """A subscriber subprocess whose output lines are read by a thread into a queue."""

    def __init__(self, argv: list[str], cwd: Path | None = None):
        env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self, timeout: float = 15) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no output; stderr: {self.proc.stderr.read() if self.proc.poll() else ''}"
            ) from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def node_events(sub: Subscriber, count: int) -> list[dict]:
    return [json.loads(sub.line()) for _ in range(count)]


def redis_cli_events(sub: Subscriber, count: int) -> list[dict]:
    """``redis-cli SUBSCRIBE`` prints each message as three lines: message, channel, payload."""
    events = []
    while len(events) < count:
        if sub.line() == "message":
            channel = sub.line()
            events.append({"channel": channel, "data": json.loads(sub.line())})
    return events


def test_a_node_subscriber_prints_the_trade_and_the_ticker_after_an_order_crosses(
    engine_process, make_funded_user, node_client_dir
):
    crossing_order_is_printed(make_funded_user, node_client_dir)


def test_redis_cli_subscribe_prints_the_same_trade_and_ticker(engine_process, make_funded_user):
    crossing_order_is_printed(make_funded_user, None)


def crossing_order_is_printed(make_funded_user, node_client_dir: Path | None) -> None:
    maker, taker = make_funded_user("maker", SOL="10"), make_funded_user("taker", USDC="10000")
    channels = ["trade.SOL_USDC", "ticker.SOL_USDC"]
    if node_client_dir is not None:
        sub = Subscriber(["node", "subscribe.js", "--count", "2", *channels], cwd=node_client_dir)
        assert json.loads(sub.line()) == {"ready": channels}
        read = node_events
    else:
        sub = Subscriber(["redis-cli", "-u", settings.REDIS_URL, "SUBSCRIBE", *channels])
        for _ in range(6):  # subscribe, channel, count: twice
            sub.line()
        read = redis_cli_events
    try:
        ask = submit(PlaceOrder(ts=0, account=maker.pk, market="SOL_USDC", side="Ask", order_type="Limit",
                                price=15050, quantity=250))  # fmt: skip
        bid = submit(PlaceOrder(ts=0, account=taker.pk, market="SOL_USDC", side="Bid", order_type="Limit",
                                price=15100, quantity=200))  # fmt: skip
        events = read(sub, 2)
    finally:
        sub.stop()

    us = next(e for e in bid if e["type"] == "Trade")["ts"] * 1000
    assert events == [
        {"channel": "trade.SOL_USDC",
         "data": {"e": "trade", "E": us, "s": "SOL_USDC", "p": "150.5", "q": "2", "t": 1, "m": False,
                  "b": str(bid[0]["order_id"]), "a": str(ask[0]["order_id"]), "T": us}},
        {"channel": "ticker.SOL_USDC",
         "data": {"e": "ticker", "E": us, "s": "SOL_USDC", "o": "150.5", "c": "150.5", "h": "150.5",
                  "l": "150.5", "v": "2", "V": "301", "n": 1}},
    ]  # fmt: skip
