"""Live data without polling: the logged-in page follows the session's private streams
(account.orderUpdate, account.balanceUpdate) and the ticker streams, reads the REST API once at
load and once after a reconnection, and says when it resynchronised.

SOL_USDC as seed_demo makes it: tick 0.01, step 0.01, maker 2 bps, taker 5 bps.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import place

from .conftest import log_in, private_requests, wait_account, wait_live

pytestmark = pytest.mark.services


def test_an_idle_logged_in_page_makes_no_private_rest_request_for_20_s(page, traders, make_funded_user):
    user = make_funded_user("ivy", USDC="1000")
    place(user, "Bid", 10000, 100)  # an open order: there is something to keep current
    log_in(page, "ivy", "pw-ivy")
    wait_live(page)
    wait_account(page)
    expect(page.locator("#fills-body")).to_have_text("No fills yet")  # the last read of the load
    expect(page.locator("#orders-body tr[data-order-id]")).to_have_count(1)

    private = private_requests(page)
    every: list[tuple[float, str]] = []
    started = time.monotonic()
    page.on("request", lambda r: every.append((round(time.monotonic() - started, 1), r.url)))
    page.wait_for_timeout(20_000)

    assert private == []
    # Nothing public on a timer either: the streams carry it all. (A depth or trades snapshot is
    # fetched again only on a gap in the stream's ids, which no timer makes.)
    timers = [(t, url) for t, url in every if not re.search(r"/api/v1/(depth|trades)\?", url)]
    assert timers == [], f"{every}; book status {page.inner_text('#book-status')!r}"


def test_a_fill_by_another_trader_through_the_api_shows_within_3_s_without_a_reload(
    page, traders, api_client, make_funded_user
):
    _, taker = traders
    make_funded_user("carol", SOL="5")
    log_in(page, "carol", "pw-carol")
    wait_live(page)
    page.click("#side-sell")
    page.fill("#order-price", "141")
    page.fill("#order-quantity", "2")
    page.click("#order-submit")
    expect(page.locator("#order-result .msg")).to_have_text(re.compile(r"^Order \d+ New$"))
    row = page.locator("#orders-body tr[data-order-id]")
    expect(row).to_have_count(1)
    expect(page.locator("#fills-body")).to_have_text("No fills yet")
    page.evaluate("window.__sameDocument = true")
    private = private_requests(page)

    # Another trader takes 1.5 SOL of it through the signed REST API.
    taken = api_client(taker).request(
        "POST", "/api/v1/order",
        {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "141", "quantity": "1.5",
         "timeInForce": "IOC"},
    )  # fmt: skip
    started = time.monotonic()
    assert taken["status"] == "Filled"

    three_s = {"timeout": 3000}
    expect(row.locator(".filled")).to_have_text("1.50", **three_s)
    expect(row.locator(".status")).to_have_text("PartiallyFilled", **three_s)
    usdc = page.locator('.balances-mini [data-balance="USDC"]')
    expect(usdc.locator(".available")).to_have_text("211.4577", **three_s)  # 211.5 - 2 bps maker fee
    sol = page.locator('.balances-mini [data-balance="SOL"]')
    expect(sol.locator(".locked")).to_have_text("0.5", **three_s)
    expect(sol.locator(".available")).to_have_text("3", **three_s)
    page.click("#tab-fills")
    fill = page.locator("#fills-body tr").first
    expect(fill.locator("td")).to_have_text(
        [
            re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"),
            "SOL_USDC",
            "Sell",
            "141.00",
            "1.50",
            "0.0423 USDC",
            "Maker",
        ],
        **three_s,
    )
    assert time.monotonic() - started < 3
    assert private == []  # from the streams, not the REST API
    assert page.evaluate("window.__sameDocument") is True


def test_the_market_list_follows_the_ticker_streams(page, traders, fund):
    maker, taker = traders
    tickers: list[str] = []
    page.on("request", lambda r: tickers.append(r.url) if "/api/v1/ticker" in r.url else None)
    page.goto("/trade/SOL_USDC")
    wait_live(page)
    expect(page.locator('#markets-table tr[data-market="BTC_USDC"] .last')).to_have_text("–")
    page.wait_for_timeout(300)
    loaded = len(tickers)

    # A trade in another market: 0.001 BTC at 65,000.0 (BTC_USDC: tick 0.1, step 0.00001).
    fund(maker, "BTC", "1")
    place(maker, "Ask", 650000, 100, market="BTC_USDC")
    place(taker, "Bid", 650000, 100, market="BTC_USDC")

    btc = page.locator('#markets-table tr[data-market="BTC_USDC"]')
    expect(btc.locator(".last")).to_have_text("65,000.0")
    expect(btc.locator(".volume")).to_have_text("65.00")
    assert len(tickers) == loaded  # the stream, not a poll


def test_the_page_keeps_updating_after_the_websocket_is_cut_and_restored(page, traders, make_funded_user):
    """The browser's socket goes through Playwright: the test cuts it and keeps the page off the
    server while the market and the user's account change, then lets it back. The page must
    say it lost the connection, reconnect, fetch every snapshot again (the events of the outage
    are lost for good), say that it did, and go on following the streams."""
    maker, taker = traders
    make_funded_user("dora", USDC="1000")
    sockets: list = []
    blocked = {"on": False}

    def route(ws) -> None:
        if blocked["on"]:
            ws.close(code=1011, reason="test: server unreachable")
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"^ws://"), route)
    private = private_requests(page)
    log_in(page, "dora", "pw-dora")
    wait_live(page)
    page.fill("#order-price", "139")
    page.fill("#order-quantity", "2")
    page.click("#order-submit")
    expect(page.locator("#orders-body tr[data-order-id]")).to_have_count(1)
    usdc = page.locator('.balances-mini [data-balance="USDC"]')
    expect(usdc.locator(".locked")).to_have_text("278.139")  # 278 + 5 bps fee reserve
    page.evaluate("window.__sameDocument = true")
    loads_before = sum("/api/v1/capital" in u for u in private)

    blocked["on"] = True
    sockets[-1].close(code=1006, reason="test: connection cut")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "down")
    expect(page.locator("#ws-notice")).to_contain_text("Connection lost")
    # Meanwhile: dora's bid is filled, a new ask rests, a trade prints.
    place(maker, "Ask", 13900, 200)  # fills dora's bid at 139
    place(maker, "Ask", 14200, 150)
    place(maker, "Ask", 14100, 100)
    place(taker, "Bid", 14100, 100)  # a trade at 141
    page.wait_for_timeout(300)
    blocked["on"] = False

    wait_live(page)
    expect(page.locator("#ws-notice")).to_contain_text("resynchronised")
    expect(page.locator("#book-asks .level .px")).to_have_text(["142.00"])
    page.click("#tab-trades")
    expect(page.locator("#trades-list .trade .px")).to_have_text(["141.00", "139.00"])
    expect(page.locator("#orders-body")).to_have_text("No open orders")
    expect(usdc.locator(".locked")).to_have_text("0")
    expect(usdc.locator(".available")).to_have_text("721.9444")  # 1000 - 278 - 0.0556 maker fee
    assert sum("/api/v1/capital" in u for u in private) > loads_before

    # And live again: a new order of another trader and a fill of dora's show without a reload.
    page.click("#tab-book")
    page.fill("#order-price", "138")
    page.fill("#order-quantity", "1")
    page.click("#order-submit")
    expect(page.locator("#orders-body tr[data-order-id]")).to_have_count(1)
    after = len(private)
    place(maker, "Ask", 13800, 100)  # fills it
    expect(page.locator("#orders-body")).to_have_text("No open orders")
    expect(page.locator("#book-asks .level .px")).to_have_text(["142.00"])
    expect(usdc.locator(".available")).to_have_text("583.9168")  # 721.9444 - 138 - 0.0276
    assert private[after:] == []
    assert page.evaluate("window.__sameDocument") is True
