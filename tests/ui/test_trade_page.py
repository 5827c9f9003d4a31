"""The trading page in a real headless Chromium against the real stack: a ``run_web`` server, the
engine subprocess, Redis, PostgreSQL (and a Celery worker where candles and fills are needed).

SOL_USDC as ``seed_demo`` makes it: tick 0.01, step 0.01 (engine integers: price 14025 =
140.25, quantity 150 = 1.5 SOL), maker 2 bps, taker 5 bps. The page pads prices and SOL
quantities to two decimals for display and keeps the API's decimal strings in data attributes.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from playwright.sync_api import expect

from engine.client import submit
from engine.core.messages import CancelOrder
from tests.conftest import order_id, place

from .conftest import UI_TIMEOUT_MS, log_in, wait_live

pytestmark = pytest.mark.services


def test_the_page_lists_the_markets_and_shows_the_ticker_of_a_market_with_trades(page, traders):
    maker, taker = traders
    place(maker, "Ask", 14025, 150)
    place(taker, "Bid", 14030, 100)  # takes 1 SOL at 140.25

    page.goto("/")

    options = page.locator("#market-select option")
    expect(options).to_have_text(["BTC/USDC", "ETH/USDC", "SOL/USDC"])
    expect(page.locator("#market-select")).to_have_value("/trade/SOL_USDC")
    rows = page.locator("#markets-table tbody tr")
    expect(rows).to_have_count(3)
    markets = [rows.nth(i).get_attribute("data-market") for i in range(3)]
    assert markets == ["BTC_USDC", "ETH_USDC", "SOL_USDC"]
    # The engine pushes the ticker at most once a second: the REST load or the stream shows it.
    expect(page.locator("#ticker-trades")).to_have_text("1")
    expect(page.locator("#ticker-last")).to_have_text("140.25")
    expect(page.locator("#ticker-change")).to_have_text("+0.00 (+0.00%)")
    expect(page.locator("#ticker-high")).to_have_text("140.25")
    expect(page.locator("#ticker-low")).to_have_text("140.25")
    expect(page.locator("#ticker-volume")).to_have_text("1.00")
    expect(page.locator("#ticker-quote-volume")).to_have_text("140.25")
    sol = page.locator('#markets-table tr[data-market="SOL_USDC"]')
    expect(sol.locator(".last")).to_have_text("140.25")
    expect(sol.locator(".volume")).to_have_text("140.25")
    expect(page.locator('#markets-table tr[data-market="BTC_USDC"] .last')).to_have_text("–")
    # Logged out: market data, and a way in.
    expect(page.locator("#login-link")).to_have_attribute("href", "/login?next=/")
    expect(page.locator("#order-form")).to_have_count(0)


def test_a_resting_order_of_another_user_appears_in_the_book_without_a_reload(page, traders):
    maker, _ = traders
    page.goto("/trade/SOL_USDC")
    wait_live(page)
    expect(page.locator("#book-spread")).to_have_text("No orders yet")
    page.evaluate("window.__sameDocument = true")

    bid = order_id(place(maker, "Bid", 13990, 250))
    bids = page.locator("#book-bids .level")
    expect(bids).to_have_count(1)
    expect(bids.first).to_have_attribute("data-price", "139.9")
    expect(bids.first.locator(".px")).to_have_text("139.90")
    expect(bids.first.locator(".qty")).to_have_text("2.50")

    place(maker, "Ask", 14010, 100)
    place(maker, "Ask", 14020, 50)
    asks = page.locator("#book-asks .level")
    expect(asks).to_have_count(2)
    # Highest on top, the best ask next to the spread; totals accumulate from the best price.
    expect(asks.locator(".px")).to_have_text(["140.20", "140.10"])
    expect(asks.locator(".qty")).to_have_text(["0.50", "1.00"])
    expect(asks.locator(".cum")).to_have_text(["1.50", "1.00"])
    expect(page.locator("#book-spread")).to_have_text("Spread 0.20 (0.143%)")
    expect(page.locator("#book-mid")).to_have_text("140.00")  # halfway between 139.90 and 140.10

    submit(CancelOrder(ts=0, account=maker.pk, market="SOL_USDC", order_id=bid))
    expect(bids).to_have_count(0)
    expect(page.locator("#book-spread")).to_have_text("One-sided book")
    expect(page.locator("#book-mid")).to_have_text("")
    assert page.evaluate("window.__sameDocument") is True  # all of it without a reload


def test_a_lost_depth_event_is_noticed_and_the_book_resyncs_from_rest(page, traders):
    """Depth events go through the channel layer at most once; the page must notice a missing
    one (an event whose U is not the previous u + 1) and fetch a new snapshot. The browser's
    websocket is routed through Playwright, which drops the event with update id 2."""
    maker, _ = traders
    dropped: list[dict] = []

    def route(ws) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("stream") == "depth.SOL_USDC" and frame["data"]["U"] == 2 and not dropped:
                dropped.append(frame["data"])
                return
            ws.send(message)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r"^ws://"), route)
    snapshots: list[str] = []
    page.on("request", lambda r: snapshots.append(r.url) if "/api/v1/depth" in r.url else None)
    page.goto("/")
    wait_live(page)
    expect(page.locator("#book-spread")).to_have_text("No orders yet")

    place(maker, "Bid", 13900, 100)  # update id 1
    expect(page.locator("#book-bids .level .px")).to_have_text(["139.00"])
    before = len(snapshots)
    place(maker, "Bid", 13950, 100)  # update id 2: never reaches the page
    place(maker, "Bid", 13980, 100)  # update id 3: the gap shows

    expect(page.locator("#book-bids .level .px")).to_have_text(["139.80", "139.50", "139.00"])
    assert [(d["U"], d["u"], d["b"]) for d in dropped] == [(2, 2, [["139.5", "1"]])]
    assert len(snapshots) > before  # the level of the lost event came from a new snapshot


def test_the_page_loads_without_an_error_in_the_console(page, traders):
    # The browser's own requests (the icon) show up only here, not as the page's responses.
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto("/")
    wait_live(page)

    expect(page.locator("#kline-chart")).to_have_attribute(
        "aria-label", "Candlestick chart of SOL/USDC, 1m candles, no trades in this period yet"
    )
    expect(page.locator("#kline-note")).to_have_text("No trades in this period yet")
    depth = page.locator("#depth-canvas")
    expect(depth).to_have_attribute("aria-label", "Depth chart, no orders in the book")
    assert errors == []


def test_a_trade_appears_in_the_trades_tab(page, traders):
    maker, taker = traders
    page.goto("/")
    wait_live(page)
    page.click("#tab-trades")
    expect(page.locator("#trades-list")).to_have_text("No trades yet")

    place(maker, "Ask", 14025, 150)
    place(taker, "Bid", 14030, 100)

    trades = page.locator("#trades-list .trade")
    expect(trades).to_have_count(1)
    trade = trades.first
    expect(trade).to_have_attribute("data-trade-id", "1")
    expect(trade).to_have_attribute("data-price", "140.25")
    expect(trade.locator(".px")).to_have_text("140.25")
    expect(trade.locator(".qty")).to_have_text("1.00")
    expect(trade).to_have_class("book-row trade bid")  # the taker bought
    # The rest of the ask stays in the book.
    page.click("#tab-book")
    expect(page.locator("#book-asks .level .qty")).to_have_text(["0.50"])


def test_a_logged_in_user_places_a_limit_order_sees_it_and_the_locked_funds_then_cancels_it(
    page, engine_process, make_funded_user
):
    make_funded_user("carol", USDC="1000")
    log_in(page, "carol", "pw-carol")
    wait_live(page)
    usdc = page.locator('.balances-mini [data-balance="USDC"]')
    expect(usdc.locator(".available")).to_have_text("1,000")
    expect(usdc.locator(".locked")).to_have_text("0")
    expect(page.locator("#orders-body")).to_have_text("No open orders")

    page.fill("#order-price", "100")
    page.fill("#order-quantity", "2")
    expect(page.locator("#order-hint")).to_contain_text("Total 200 USDC")
    expect(page.locator("#order-hint")).to_contain_text("+ up to 0.1 USDC fee, held until filled")
    page.click("#order-submit")

    expect(page.locator("#order-result")).to_have_class("order-result ok")
    expect(page.locator("#order-result .msg")).to_have_text("Order 1 New")
    row = page.locator('#orders-body tr[data-order-id="1"]')
    time = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    cells = [time, "SOL_USDC", "Buy", "Limit", "100.00", "2.00", "0.00", "GTC", "New", "Cancel"]
    expect(row.locator("td")).to_have_text(cells)
    # 2 SOL at 100 locks 200 USDC plus the worst-case taker fee (5 bps: 0.1).
    expect(usdc.locator(".locked")).to_have_text("200.1")
    expect(usdc.locator(".available")).to_have_text("799.9")
    expect(page.locator("#book-bids .level .px")).to_have_text(["100.00"])

    row.locator("button.cancel").click()

    expect(page.locator("#orders-body")).to_have_text("No open orders")
    expect(page.locator("#action-result")).to_have_text("Order 1 cancelled")
    expect(usdc.locator(".locked")).to_have_text("0")
    expect(usdc.locator(".available")).to_have_text("1,000")
    expect(page.locator("#book-bids .level")).to_have_count(0)


def test_the_form_warns_when_the_order_with_its_fee_reserve_exceeds_the_balance(
    page, engine_process, make_funded_user
):
    make_funded_user("dave", USDC="1000")
    log_in(page, "dave", "pw-dave")
    wait_live(page)
    expect(page.locator('.balances-mini [data-balance="USDC"] .available')).to_have_text("1,000")

    page.fill("#order-price", "100")
    page.fill("#order-quantity", "10")  # 1,000 USDC, and the engine also holds 0.5 for the fee

    hint = page.locator("#order-hint .warn")
    expect(hint).to_have_text("Not enough USDC: this order needs 1,000.5")
    page.fill("#order-quantity", "9.99")
    expect(hint).to_have_count(0)


def test_the_order_forms_toggles_say_which_is_chosen(page, traders, make_user):
    make_user("erin")
    log_in(page, "erin", "pw-erin")
    sell = page.locator("#side-sell")
    expect(sell).to_have_attribute("aria-pressed", "false")

    sell.click()

    expect(sell).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#side-buy")).to_have_attribute("aria-pressed", "false")


def test_a_rejected_order_shows_the_servers_message(page, engine_process, make_funded_user):
    make_funded_user("dave", USDC="1000")
    log_in(page, "dave", "pw-dave")

    page.fill("#order-price", "140.005")
    page.fill("#order-quantity", "1")
    # A hint only: the order still goes to the server, whose answer is shown as it is.
    expect(page.locator("#order-hint .warn")).to_have_text("Price must be a multiple of 0.01")
    page.click("#order-submit")

    expect(page.locator("#order-result")).to_have_class("order-result error")
    expect(page.locator("#order-result .code")).to_have_text("INVALID_PRICE")
    message = page.locator("#order-result .msg")
    expect(message).to_have_text("Invalid price: 140.005 is not a multiple of 0.01")
    expect(page.locator("#orders-body")).to_have_text("No open orders")


def test_the_development_faucet_deposits_test_funds(page, engine_process, make_user):
    make_user("frank")
    log_in(page, "frank", "pw-frank")
    usdc = page.locator('.balances-mini [data-balance="USDC"] .available')
    expect(usdc).to_have_text("0")

    page.click('button[data-faucet="USDC"]')

    expect(page.locator("#faucet-result")).to_have_text("Deposited 10000 USDC")
    expect(usdc).to_have_text("10,000")


def test_an_unknown_market_is_a_404_page(page):
    response = page.goto("/trade/DOGE_USDC")

    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("#unknown-market h1")).to_have_text("No market “DOGE_USDC”")
    links = page.locator("#unknown-market p a")
    expect(links).to_have_text(["BTC_USDC", "ETH_USDC", "SOL_USDC", "Back to trading"])


def test_a_fill_through_the_form_shows_in_fills_and_builds_the_candle(
    page, traders, engine_worker, make_funded_user
):
    maker, _ = traders
    make_funded_user("erin", USDC="1000")
    place(maker, "Ask", 14050, 300)
    log_in(page, "erin", "pw-erin")
    wait_live(page)
    expect(page.locator("#book-asks .level .px")).to_have_text(["140.50"])

    page.locator("#book-asks .level").first.click()  # a click on a level fills in its price
    expect(page.locator("#order-price")).to_have_value("140.5")
    page.fill("#order-quantity", "1")
    page.click("#order-submit")

    expect(page.locator("#order-result .msg")).to_have_text("Order 2 Filled, filled 1 SOL")
    # The worker persists the fill (history) and publishes the candle (kline stream).
    page.click("#tab-fills")
    fill = page.locator("#fills-body tr").first
    expect(fill.locator("td").nth(1)).to_have_text("SOL_USDC")
    expect(fill.locator("td").nth(2)).to_have_text("Buy")
    expect(fill.locator("td").nth(3)).to_have_text("140.50")
    expect(fill.locator("td").nth(4)).to_have_text("1.00")
    expect(fill.locator("td").nth(5)).to_have_text("0.07025 USDC")
    expect(fill.locator("td").nth(6)).to_have_text("Taker")
    expect(page.locator("#kline-legend")).to_have_text("O 140.50  H 140.50  L 140.50  C 140.50  V 1.00")
    page.click('#interval-buttons button[data-interval="5m"]')  # REST klines of another interval
    expect(page.locator('#interval-buttons button[data-interval="5m"]')).to_have_class("active")
    expect(page.locator("#kline-legend")).to_have_text("O 140.50  H 140.50  L 140.50  C 140.50  V 1.00")
    # 1000 - 140.5 - 0.07025 fee
    expect(page.locator('.balances-mini [data-balance="USDC"] .available')).to_have_text("859.42975")
    expect(page.locator('.balances-mini [data-balance="SOL"] .available')).to_have_text("1")

    if os.environ.get("UI_SCREENSHOT"):
        page.click("#tab-orders")
        page.screenshot(path=os.environ["UI_SCREENSHOT"], full_page=True)


def test_fill_times_are_in_the_viewers_time_zone_like_the_trades(
    browser, web_server, traders, engine_worker, make_funded_user
):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from history.models import Fill

    maker, _ = traders
    user = make_funded_user("gina", USDC="1000")
    place(maker, "Ask", 14050, 100)
    place(user, "Bid", 14050, 100)  # gina takes 1 SOL
    context = browser.new_context(base_url=web_server.url, timezone_id="America/Los_Angeles")
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, "gina", "pw-gina")
        page.click("#tab-fills")
        first = page.locator("#fills-body tr").first
        expect(first.locator("td").nth(1)).to_have_text("SOL_USDC")  # persisted by the worker

        fill = Fill.objects.get(user=user)
        local = datetime.fromtimestamp(fill.ts / 1000, ZoneInfo("America/Los_Angeles"))
        expect(first.locator("td").first).to_have_text(local.strftime("%Y-%m-%d %H:%M:%S"))
        expect(page.locator("#fills-pane th").first).to_have_text("Time")
    finally:
        context.close()
