"""Order entry and the account tables as a trader uses them: percentage buttons, a market buy by
quote amount, cancel-all, the order history tab; and the book's grouping, mid price and the depth
chart's readout. A real Chromium against the real stack.

SOL_USDC as seed_demo makes it: tick 0.01, step 0.01 (engine integers: price 14025 = 140.25,
quantity 150 = 1.5 SOL), maker 2 bps, taker 5 bps (a limit buy holds back the larger, 5 bps).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import order_id, place, wait_until

from .conftest import log_in, wait_account, wait_live

pytestmark = pytest.mark.services


def test_percentage_buttons_fill_the_quantity_with_the_fee_reserve_counted(page, traders, make_funded_user):
    maker, _ = traders
    make_funded_user("pat", USDC="1000", SOL="3.333")
    place(maker, "Ask", 14000, 100)  # 1 SOL at 140.00
    place(maker, "Ask", 15000, 1000)  # 10 SOL at 150.00
    log_in(page, "pat", "pw-pat")
    wait_live(page)
    expect(page.locator('.balances-mini [data-balance="USDC"] .available')).to_have_text("1,000")
    quantity = page.locator("#order-quantity")
    hint = page.locator("#order-hint")

    # A limit buy: the price first, then the most that part of the USDC buys with its reserve.
    page.click('[data-pct="25"]')
    expect(hint.locator(".warn")).to_have_text("Enter a price first")
    page.fill("#order-price", "100")
    page.click('[data-pct="25"]')
    expect(quantity).to_have_value("2.49")  # 249 + 0.1245 fee <= 250 < 250 + 0.125
    page.click('[data-pct="50"]')
    expect(quantity).to_have_value("4.99")
    page.click('[data-pct="100"]')
    expect(quantity).to_have_value("9.99")  # 10 SOL would need 1,000.5
    expect(hint).to_contain_text("+ up to 0.4995 USDC fee, held until filled")
    expect(hint.locator(".warn")).to_have_count(0)

    # A sell: part of the SOL, on the step grid (rounded down).
    page.click("#side-sell")
    page.click('[data-pct="25"]')
    expect(quantity).to_have_value("0.83")  # 3.333 / 4 = 0.83325
    page.click('[data-pct="100"]')
    expect(quantity).to_have_value("3.33")

    # A market buy by quantity: what 50 % buys from the book, level by level with the taker fee.
    page.click("#side-buy")
    page.click("#type-market")
    expect(page.locator("#amount-unit")).to_be_visible()
    expect(page.locator("#price-field")).to_be_hidden()
    page.click('[data-pct="50"]')
    expect(quantity).to_have_value("3.39")  # 1 for 140.07 with the fee, then 359.93 buys 2.39 at 150
    expect(hint).to_contain_text("≈ 498.5 USDC at today's book, before the fee")
    # By amount: the part of the USDC itself, fee included by the engine.
    page.click("#unit-quote")
    expect(quantity).to_be_hidden()
    page.click('[data-pct="75"]')
    expect(page.locator("#order-amount")).to_have_value("750")


def test_a_market_buy_by_quote_amount(page, traders, make_funded_user):
    maker, _ = traders
    make_funded_user("quinn", USDC="1000")
    place(maker, "Ask", 14000, 200)
    log_in(page, "quinn", "pw-quinn")
    wait_live(page)
    page.click("#type-market")
    page.click("#unit-quote")
    expect(page.locator("#unit-quote")).to_have_attribute("aria-pressed", "true")
    page.fill("#order-amount", "140.07")  # exactly 1 SOL at 140 with the 5 bps taker fee
    expect(page.locator("#order-hint")).to_contain_text("Buys what 140.07 USDC gets at market")
    page.click("#order-submit")

    expect(page.locator("#order-result .msg")).to_have_text(re.compile(r"^Order \d+ Filled, filled 1 SOL$"))
    expect(page.locator('.balances-mini [data-balance="USDC"] .available')).to_have_text("859.93")
    expect(page.locator('.balances-mini [data-balance="SOL"] .available')).to_have_text("1")
    expect(page.locator("#book-asks .level .qty")).to_have_text(["1.00"])


def test_cancel_all_empties_the_open_orders(page, traders, make_funded_user):
    user = make_funded_user("rosa", USDC="100000")
    for price in (13000, 13100):
        place(user, "Bid", price, 100)
    place(user, "Bid", 600000, 100, market="BTC_USDC")  # 0.001 BTC at 60,000.0
    log_in(page, "rosa", "pw-rosa")
    wait_live(page)
    rows = page.locator("#orders-body tr[data-order-id]")
    expect(rows).to_have_count(3)
    expect(page.locator("#open-count")).to_have_text("(3)")
    # Newest first, with the time and the time in force of each.
    expect(rows.locator("td.tif")).to_have_text(["GTC", "GTC", "GTC"])
    expect(rows.first.locator("td").nth(1)).to_have_text("BTC_USDC")

    # This market only: cancel-all cancels the two SOL orders, after a confirmation.
    page.check("#orders-this-market")
    expect(rows).to_have_count(2)
    cancel_all = page.locator("#cancel-all")
    cancel_all.click()
    expect(cancel_all).to_have_text("Confirm: cancel 2")
    expect(page.locator("#action-result")).to_have_text("Cancel 2 open orders? Click again to confirm.")
    expect(page.locator("#book-bids .level")).to_have_count(2)
    cancel_all.click()
    expect(page.locator("#action-result")).to_have_text("Cancelled 2 orders")
    expect(page.locator("#orders-body")).to_have_text("No open orders")
    expect(page.locator("#book-bids .level")).to_have_count(0)
    expect(cancel_all).to_be_disabled()

    # Every market: the BTC order goes too, and nothing stays locked.
    page.uncheck("#orders-this-market")
    expect(rows).to_have_count(1)
    cancel_all.click()
    cancel_all.click()
    expect(page.locator("#action-result")).to_have_text("Cancelled 1 order")
    expect(page.locator("#orders-body")).to_have_text("No open orders")
    expect(page.locator("#open-count")).to_have_text("")
    expect(page.locator('.balances-mini [data-balance="USDC"] .locked')).to_have_text("0")


def test_the_order_history_tab_lists_a_filled_order_and_pages(page, traders, make_funded_user, engine_worker):
    from history.models import Order

    maker, _ = traders
    user = make_funded_user("sam", USDC="1000")
    place(maker, "Ask", 14050, 100)
    filled = order_id(place(user, "Bid", 14050, 100))  # sam takes 1 SOL at 140.50
    for _ in range(25):
        place(user, "Bid", 10000, 1)  # 0.01 SOL at 100.00, resting
    wait_until(lambda: Order.objects.filter(user=user).count() == 26, 15, "the worker to persist 26 orders")
    log_in(page, "sam", "pw-sam")
    wait_live(page)
    wait_account(page)

    page.click("#tab-history")
    rows = page.locator("#history-body tr[data-order-id]")
    expect(rows).to_have_count(25)  # newest first: the 25 resting ones
    expect(page.locator("#history-page")).to_have_text("Page 1")
    expect(page.locator("#history-newer")).to_be_disabled()
    older = page.locator("#history-older")
    expect(older).to_be_enabled()
    expect(rows.first.locator(".status")).to_have_text("New")

    older.click()
    expect(page.locator("#history-page")).to_have_text("Page 2")
    expect(rows).to_have_count(1)
    row = page.locator(f'#history-body tr[data-order-id="{filled}"]')
    time = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    cells = [time, "SOL_USDC", "Buy", "Limit", "140.50", "1.00", "1.00", "140.5 USDC", "GTC", "Filled"]
    expect(row.locator("td")).to_have_text(cells)
    expect(older).to_be_disabled()
    page.click("#history-newer")
    expect(rows).to_have_count(25)

    # The first page follows the stream: a new order shows on top at once, and its cancel.
    page.fill("#order-price", "99")
    page.fill("#order-quantity", "1")
    page.click("#order-submit")
    expect(rows).to_have_count(25)
    expect(rows.first.locator("td").nth(4)).to_have_text("99.00")
    expect(rows.first.locator(".status")).to_have_text("New")
    page.click("#tab-orders")
    page.locator("#orders-body tr[data-order-id] button.cancel").first.click()
    expect(page.locator("#action-result")).to_have_text(re.compile(r"^Order \d+ cancelled$"))
    page.click("#tab-history")  # read again: the stream's news wins over a database a moment behind
    expect(rows.first.locator(".status")).to_have_text("Cancelled")
    expect(rows.first.locator("td").nth(4)).to_have_text("99.00")


def test_book_grouping_the_mid_price_and_the_depth_readout(page, traders):
    maker, _ = traders
    for price, qty in ((13991, 100), (13995, 50), (13980, 200)):
        place(maker, "Bid", price, qty)
    for price, qty in ((14001, 100), (14004, 30), (14012, 70)):
        place(maker, "Ask", price, qty)
    page.goto("/")
    wait_live(page)
    bids = page.locator("#book-bids .level")
    asks = page.locator("#book-asks .level")
    expect(bids.locator(".px")).to_have_text(["139.95", "139.91", "139.80"])
    expect(page.locator("#book-mid")).to_have_text("139.98")  # (139.95 + 140.01) / 2
    expect(page.locator("#book-spread")).to_have_text("Spread 0.06 (0.043%)")
    expect(page.locator("#book-group option")).to_have_text(["0.01", "0.1", "1", "10"])

    # Grouped by 0.1: bids round down, asks up, sizes add up exactly.
    page.select_option("#book-group", "10")
    expect(bids.locator(".px")).to_have_text(["139.90", "139.80"])
    expect(bids.locator(".qty")).to_have_text(["1.50", "2.00"])
    expect(asks.locator(".px")).to_have_text(["140.20", "140.10"])  # highest on top
    expect(asks.locator(".qty")).to_have_text(["0.70", "1.30"])
    expect(page.locator("#book-mid")).to_have_text("139.98")  # of the real best prices
    page.select_option("#book-group", "1")

    # The depth chart: left of the mid the bids, right the asks, cumulative from the best price.
    canvas = page.locator("#depth-canvas")
    expect(canvas).to_have_attribute(
        "aria-label", "Depth chart: 3.50 SOL bid down to 139.80, 2.00 SOL offered up to 140.12"
    )
    box = canvas.bounding_box()
    readout = page.locator("#depth-readout")
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)  # far left: every bid
    expect(readout).to_have_attribute("data-side", "bid")
    expect(readout).to_have_text("Bids at or above 139.80: 3.50 SOL · 489.485 USDC")
    page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] / 2)  # far right: every ask
    expect(readout).to_have_text("Asks at or below 140.12: 2.00 SOL · 280.106 USDC")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] - 40)  # away
    expect(readout).to_have_text("Hover the depth chart for the size up to a price")


@pytest.fixture
def trigger_buy_sent(page, traders, make_funded_user) -> None:
    """A trader with 1,000 USDC, logged in, has just sent a buy of 1 SOL at 150 triggered at
    145 from the page; the last price is 140."""
    maker, taker = traders
    make_funded_user("tara", USDC="1000")
    place(maker, "Ask", 14000, 100)
    place(taker, "Bid", 14000, 100)
    log_in(page, "tara", "pw-tara")
    wait_live(page)
    page.fill("#order-price", "150")
    page.fill("#order-quantity", "1")
    page.fill("#order-trigger", "145")
    page.click("#order-submit")


def test_a_trigger_order_waits_in_the_open_orders_and_is_cancelled_from_the_page(page, trigger_buy_sent):
    expect(page.locator("#order-result .msg")).to_have_text(re.compile(r"^Order \d+ TriggerPending$"))
    row = page.locator("#orders-body tr[data-order-id]")
    expect(row.locator("td.type")).to_have_text("Limit · trigger 145.00")
    expect(row.locator("td.status")).to_have_text("TriggerPending")
    expect(page.locator("#book-bids .level")).to_have_count(0)  # off the book while it waits
    expect(page.locator('.balances-mini [data-balance="USDC"] .locked')).to_have_text("150.075")
    row.locator("button.cancel").click()
    expect(page.locator("#orders-body")).to_have_text("No open orders")
    expect(page.locator('.balances-mini [data-balance="USDC"] .locked')).to_have_text("0")


def test_a_trigger_order_reached_by_another_traders_trade_fills_on_the_page(page, traders, trigger_buy_sent):
    maker, taker = traders
    expect(page.locator("#orders-body td.status")).to_have_text("TriggerPending")

    place(maker, "Ask", 14500, 300)
    place(taker, "Bid", 14500, 100)  # trades at 145: tara's order is placed and buys 1 SOL at 145

    expect(page.locator("#orders-body")).to_have_text("No open orders")
    expect(page.locator('.balances-mini [data-balance="SOL"] .available')).to_have_text("1")
