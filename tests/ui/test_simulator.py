"""The demo market simulator (``manage.py simulate_market``): in the browser against the real
stack, and its parts on their own (the REST client's waiting on 429 and 503, the ladder and the
plan of cancels and places, the request budget).
"""

from __future__ import annotations

import json
import random
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from accounts import signing
from simulator.client import ApiError, Client, RequestBudget
from simulator.quoting import ASK, BID, LadderShape, MarketSpec, OpenOrder, Quote, RandomWalk, ladder, plan

from .conftest import wait_live

SOL = MarketSpec(
    symbol="SOL_USDC", base="SOL", quote="USDC", tick=Decimal("0.01"), step=Decimal("0.01"),
    min_price=1, max_price=100_000_000, min_lots=1, max_lots=100_000_000,
)  # fmt: skip


@pytest.mark.services
def test_with_the_simulator_on_the_book_has_levels_on_both_sides_within_a_minute(page, simulator, web_server):
    from django.contrib.auth import get_user_model

    page.goto("/")
    wait_live(page)
    expect(page.locator("#book-spread")).to_have_text("No orders yet")

    simulator.start(
        web_server.url, "SOL_USDC", "--requote-every", "0.5", "--trade-every", "1.5", "--seed", "7"
    )

    minute = {"timeout": 60_000}
    expect(page.locator("#book-asks .level").first).to_be_visible(**minute)
    expect(page.locator("#book-bids .level").first).to_be_visible(**minute)
    expect(page.locator("#book-bids .level")).to_have_count(12)  # a deep book: every row filled
    expect(page.locator("#book-asks .level")).to_have_count(12)
    # Around the demo's starting price of SOL (150).
    expect(page.locator("#book-mid")).to_have_text(re.compile(r"^1[45]\d\.\d\d\d?$"))
    # ... and a trickle of trades by the taker bot.
    page.click("#tab-trades")
    expect(page.locator("#trades-list .trade").first).to_be_visible(**minute)

    users = set(
        get_user_model().objects.filter(username__startswith="sim-").values_list("username", flat=True)
    )
    assert users == {"sim-maker-1", "sim-maker-2", "sim-taker"}
    assert not users & {"alice", "bob", "admin"}

    # Stopped, it takes its quotes with it.
    assert simulator.stop() == 0, simulator.log()
    page.click("#tab-book")
    expect(page.locator("#book-spread")).to_have_text("No orders yet")
    log = simulator.log()
    assert "rate limited" not in log and "Traceback" not in log, log


# --- the parts ---------------------------------------------------------------------------------


class _Stub(BaseHTTPRequestHandler):
    """Answers from a script: each request takes the next (status, headers, body)."""

    script: list[tuple[int, dict, object]] = []
    seen: list[dict] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        status, headers, payload = type(self).script.pop(0)
        data = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stub():
    _Stub.script, _Stub.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Stub
    server.shutdown()
    server.server_close()


def test_the_client_signs_and_waits_out_429_and_503(stub):
    url, handler = stub
    public, secret = signing.generate_keypair()
    handler.script = [
        (429, {"Retry-After": "0.2"}, {"code": "TOO_MANY_REQUESTS", "message": "slow down"}),
        (503, {"Retry-After": "0.2"}, {"code": "MAINTENANCE", "message": "engine down"}),
        (200, {}, {"id": "7", "status": "New"}),
    ]
    client = Client(url, secret, RequestBudget(rate=100, burst=100))
    body = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "140", "quantity": "1"}

    assert client.request("POST", "/api/v1/order", body) == {"id": "7", "status": "New"}

    assert len(handler.seen) == 3  # the same order, sent until it was taken
    assert (client.stats.rate_limited, client.stats.unavailable) == (1, 1)
    for request in handler.seen:
        h = request["headers"]
        assert h["X-API-Key"] == public
        message = signing.signing_string("orderExecute", body, int(h["X-Timestamp"]), int(h["X-Window"]))
        assert signing.verify(public, h["X-Signature"], message)
        assert json.loads(request["body"]) == body


def test_the_client_raises_other_errors_and_never_resends_them(stub):
    url, handler = stub
    _, secret = signing.generate_keypair()
    handler.script = [(504, {}, {"code": "SERVER_ERROR", "message": "status unknown"})]
    client = Client(url, secret, RequestBudget(rate=100, burst=100))

    with pytest.raises(ApiError) as raised:
        client.request("DELETE", "/api/v1/orders", {"symbol": "SOL_USDC"})

    assert (raised.value.status, raised.value.code) == (504, "SERVER_ERROR")
    assert len(handler.seen) == 1


def test_the_request_budget_keeps_to_its_rate():
    now = [0.0]
    budget = RequestBudget(rate=10, burst=2, clock=lambda: now[0])
    assert [budget.wait_time() for _ in range(2)] == [0, 0]
    assert budget.wait_time() == pytest.approx(0.1)
    now[0] += 0.1
    assert budget.wait_time() == 0


def test_the_ladder_sits_on_both_sides_of_the_mid_on_the_tick_and_step_grid():
    quotes = ladder(SOL, 15000.0, LadderShape(levels=5, spread_bps=6, gap_bps=4), random.Random(1))

    bids = sorted((q for q in quotes if q.side == BID), key=lambda q: -q.price)
    asks = sorted((q for q in quotes if q.side == ASK), key=lambda q: q.price)
    assert len(bids) == len(asks) == 5
    assert bids[0].price < 15000 < asks[0].price
    assert all(isinstance(q.price, int) and isinstance(q.lots, int) and q.lots >= 1 for q in quotes)
    gap = round(15000 * 4 / 10_000)
    assert [b.price for b in bids] == [bids[0].price - i * gap for i in range(5)]
    assert SOL.price_text(bids[0].price) == "149.94" and SOL.qty_text(150) == "1.5"


def test_a_small_move_of_the_mid_replaces_only_the_edge_levels():
    rng = random.Random(2)
    shape = LadderShape(levels=8)
    before = ladder(SOL, 15000.0, shape, rng)
    resting = [OpenOrder(str(i), q.side, q.price, q.lots) for i, q in enumerate(before)]

    cancel, place = plan(resting, ladder(SOL, 15006.5, shape, rng))  # one grid step up

    assert 0 < len(cancel) <= 2 and 0 < len(place) <= 2
    # Twice the same level: the second goes.
    duplicate = [*resting, OpenOrder("x", resting[0].side, resting[0].price, 1)]
    cancel, place = plan(duplicate, before)
    assert (cancel, place) == (["x"], [])
    assert plan([], [Quote(BID, 1, 1)]) == ([], [Quote(BID, 1, 1)])


def test_the_random_walk_stays_positive_and_near_its_start():
    walk = RandomWalk(15000.0, random.Random(3), volatility=0.0004, half_life_s=600, lowest=1)
    mids = [walk.step(1.0) for _ in range(3600)]
    assert min(mids) > 0
    assert 15000 * 0.8 < mids[-1] < 15000 * 1.2
    assert len({round(m) for m in mids}) > 100  # it moves
