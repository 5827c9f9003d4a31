"""The examples of examples/ (a signed REST client and a private stream subscriber, in Python
and in Node.js) run unchanged against the real exchange: a web server and the engine, each a
real process. The Node examples are skipped, saying why, without Node or without the `ws`
package (`npm ci`, run by make test)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading

import pytest

from tests.conftest import ROOT, wait_until

pytestmark = pytest.mark.services

LIMIT_BUY = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}


def _node(example: str) -> list[str]:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    return ["node", str(ROOT / "examples/node" / example)]


def _node_stream() -> list[str]:
    if not (ROOT / "node_modules/ws").is_dir():
        pytest.skip("the ws package is not installed: run `npm ci` (make test does)")
    return _node("private_stream.js")


REST_CLIENTS = {
    "python": lambda: [sys.executable, str(ROOT / "examples/python/rest_client.py")],
    "node": lambda: _node("rest_client.js"),
}
STREAM_CLIENTS = {
    "python": lambda: [sys.executable, str(ROOT / "examples/python/private_stream.py")],
    "node": _node_stream,
}


@pytest.fixture
def trader(web_server, engine_process, make_funded_user) -> dict[str, str]:
    """A user with 1000 USDC and an API key: the examples' environment."""
    from accounts.services import create_api_key

    user = make_funded_user("example-trader", USDC="1000")
    key, secret = create_api_key(user, "examples")
    return {
        **os.environ,
        "API_URL": web_server.url,
        "WS_URL": web_server.ws_url,
        "API_KEY": key.public_key,
        "API_SECRET": secret,
    }


@pytest.fixture(params=list(REST_CLIENTS))
def rest(request, trader):
    """``rest(method, path, params)``: the example client's answer, or its exit code and error."""
    command = REST_CLIENTS[request.param]()

    def call(method: str, path: str, params: object = None) -> tuple[int, object]:
        argv = [*command, method, path, *([json.dumps(params)] if params is not None else [])]
        done = subprocess.run(argv, env=trader, capture_output=True, text=True, timeout=30)
        output = done.stdout if done.returncode == 0 else done.stderr
        try:
            return done.returncode, json.loads(output)
        except json.JSONDecodeError:  # the client's own message
            return done.returncode, output.strip()

    return call


def test_the_rest_client_reads_the_balances(rest):
    balances = {"USDC": {"available": "1000", "locked": "0", "staked": "0"}}

    assert rest("GET", "/api/v1/capital") == (0, balances)


def test_the_rest_client_places_an_order(rest):
    code, order = rest("POST", "/api/v1/order", {**LIMIT_BUY, "clientId": 7})

    assert code == 0
    assert {k: order[k] for k in ("symbol", "side", "price", "quantity", "clientId", "status")} == {
        "symbol": "SOL_USDC",
        "side": "Bid",
        "price": "100",
        "quantity": "1",
        "clientId": 7,
        "status": "New",
    }


def test_the_rest_client_signs_a_query_string(rest):
    _, order = rest("POST", "/api/v1/order", LIMIT_BUY)

    code, orders = rest("GET", "/api/v1/orders", {"symbol": "SOL_USDC"})

    assert (code, [o["id"] for o in orders]) == (0, [order["id"]])


def test_the_rest_client_cancels_an_order(rest):
    _, order = rest("POST", "/api/v1/order", LIMIT_BUY)

    code, cancelled = rest("DELETE", "/api/v1/order", {"symbol": "SOL_USDC", "orderId": order["id"]})

    assert (code, cancelled["id"], cancelled["status"]) == (0, order["id"], "Cancelled")


def test_the_rest_client_signs_a_batch_of_orders(rest):
    code, results = rest("POST", "/api/v1/orders", [LIMIT_BUY, {**LIMIT_BUY, "price": "99"}])

    assert (code, [(r["operation"], r["price"]) for r in results]) == (0, [("Ok", "100"), ("Ok", "99")])


def test_the_rest_client_exits_1_with_the_error_the_exchange_answers(rest):
    code, error = rest("POST", "/api/v1/order", {**LIMIT_BUY, "quantity": "100"})

    assert (code, error["code"]) == (1, "INSUFFICIENT_FUNDS")


def test_the_rest_client_names_an_operation_it_has_no_instruction_for(rest):
    code, error = rest("POST", "/api/v1/borrowLend", {"symbol": "USDC"})

    assert (code, error) == (
        1,
        "POST /api/v1/borrowLend: not in INSTRUCTIONS; add its x-signing-instruction from /api/schema",
    )


class Lines:
    """A process's standard output, line by line, read as it comes."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in proc.stdout], daemon=True).start()

    def next(self, timeout: float) -> dict | None:
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            return None


@pytest.mark.parametrize("language", list(STREAM_CLIENTS))
def test_the_stream_subscriber_prints_the_accounts_order_updates(language, trader):
    argv = [*STREAM_CLIENTS[language](), "account.orderUpdate.SOL_USDC", "--count", "1"]
    proc = subprocess.Popen(argv, env=trader, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        output = Lines(proc)
        assert output.next(timeout=15) == {"subscribed": ["account.orderUpdate.SOL_USDC"]}
        # There is no acknowledgement of a subscription: place orders until one is reported.
        placed = []

        def an_order_reported() -> dict | None:
            client_id = len(placed) + 1
            order = {**LIMIT_BUY, "clientId": client_id}
            subprocess.run([*REST_CLIENTS["python"](), "POST", "/api/v1/order", json.dumps(order)],
                           env=trader, check=True, capture_output=True, timeout=30)  # fmt: skip
            placed.append(client_id)
            return output.next(timeout=1)

        event = wait_until(an_order_reported, 20, "an order update from the subscriber", pause=0)
        assert event["stream"] == "account.orderUpdate.SOL_USDC"
        assert {k: event["data"][k] for k in ("e", "s", "S", "p", "q", "X")} == {
            "e": "orderAccepted",
            "s": "SOL_USDC",
            "S": "Bid",
            "p": "100",
            "q": "1",
            "X": "New",
        }
        assert event["data"]["c"] in placed
        assert proc.wait(10) == 0  # --count 1
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
