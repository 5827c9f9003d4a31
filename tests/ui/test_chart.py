"""The candle chart: TradingView's lightweight-charts (npm) on a real time axis, in a real
Chromium against the real stack. The page hands the library's chart object to the tests on its
container (``#kline-chart``'s ``lwChart``: ``chart``, ``candles``, ``volume``), so they read what
the library draws rather than trusting the page's own bookkeeping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import place, wait_until

from .conftest import wait_live

pytestmark = pytest.mark.services

LW = "document.getElementById('kline-chart').lwChart"
API_INTERVALS = "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1month".split()


def candles(page) -> list[dict]:
    """The candles the library's series holds (its empty slots are on the time scale only)."""
    return page.evaluate(f"() => {LW}.candles.data().map(d => ({{...d}}))")


def visible_range(page) -> dict:
    return page.evaluate(f"() => {LW}.chart.timeScale().getVisibleLogicalRange()")


def hover_candle(page, bar: dict) -> None:
    """The mouse over a candle's close, where the library puts it."""
    x, y = page.evaluate(
        f"(b) => [{LW}.chart.timeScale().timeToCoordinate(b.time), {LW}.candles.priceToCoordinate(b.close)]",
        bar,
    )
    box = page.locator("#kline-chart").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)


def order(client, side: str, **fields) -> dict:
    body = {"symbol": "SOL_USDC", "side": side, **fields}
    return client.request("POST", "/api/v1/order", body)


def test_the_chart_is_drawn_by_lightweight_charts_and_shows_a_trade_made_through_the_api(
    page, traders, api_client, engine_worker, chart_library
):
    maker, taker = traders
    maker_api, taker_api = api_client(maker), api_client(taker)
    page.goto("/")
    wait_live(page)
    chart = page.locator("#kline-chart")
    # The library's own DOM and canvases, and every interval of the klines API.
    expect(chart.locator(".tv-lightweight-charts canvas").first).to_be_visible()
    expect(page.locator("#interval-buttons button")).to_have_text(API_INTERVALS)
    expect(page.locator('#interval-buttons button[data-interval="1m"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(chart).to_have_attribute(
        "aria-label", "Candlestick chart of SOL/USDC, 1m candles, no trades in this period yet"
    )

    order(maker_api, "Ask", orderType="Limit", price="140.50", quantity="2")
    order(taker_api, "Bid", orderType="Market", quantity="1")  # 1 SOL at 140.50

    # The worker persists the trade and publishes the kline stream: the candle comes live.
    legend = page.locator("#kline-legend")
    expect(legend).to_have_text("O 140.50  H 140.50  L 140.50  C 140.50  V 1.00")
    bars = [b for b in candles(page) if "open" in b]
    assert [(b["open"], b["high"], b["low"], b["close"]) for b in bars] == [(140.5, 140.5, 140.5, 140.5)]
    assert bars[0]["time"] % 60 == 0  # the UTC minute it opened, in seconds
    volumes = page.evaluate(f"() => {LW}.volume.data().map(d => d.value)")
    assert volumes == [1]
    expect(chart).to_have_attribute("aria-label", _label_re("1m"))

    # The last candle follows the stream: a second trade moves it without a reload.
    page.evaluate("window.__sameDocument = true")
    order(maker_api, "Ask", orderType="Limit", price="141", quantity="1")
    order(taker_api, "Bid", orderType="Market", quantity="2")  # 1 at 140.50, 1 at 141.00
    expect(legend).to_contain_text("C 141.00")
    latest = [b for b in candles(page) if "open" in b][-1]
    assert (latest["high"], latest["close"]) == (141, 141)
    assert page.evaluate("window.__sameDocument") is True

    # Crosshair: the OHLCV of the candle under the mouse, with its time in the viewer's zone.
    hover_candle(page, latest)
    expect(page.locator("#kline-time")).to_have_text(
        datetime.fromtimestamp(latest["time"]).strftime("%Y-%m-%d %H:%M")
    )
    expect(legend).to_contain_text("H 141.00")

    # Zoom (the wheel) narrows the visible range; a drag pans it back in time.
    before = visible_range(page)
    page.mouse.wheel(0, -600)
    wait_until(lambda: _width(visible_range(page)) < _width(before), 5, "the wheel to zoom in")
    zoomed = visible_range(page)
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 200, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    wait_until(lambda: visible_range(page)["from"] < zoomed["from"] - 1, 5, "the drag to pan back")


def test_every_interval_of_the_api_loads_its_candles(page, traders, engine_worker, chart_library):
    maker, taker = traders
    place(maker, "Ask", 14050, 300)
    place(taker, "Bid", 14050, 100)
    page.goto("/")
    wait_live(page)
    legend = page.locator("#kline-legend")
    expect(legend).to_have_text("O 140.50  H 140.50  L 140.50  C 140.50  V 1.00")

    klines = []
    page.on("request", lambda r: klines.append(r.url) if "/api/v1/klines" in r.url else None)
    for interval in API_INTERVALS[1:]:
        page.click(f'#interval-buttons button[data-interval="{interval}"]')
        button = page.locator(f'#interval-buttons button[data-interval="{interval}"]')
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#kline-chart")).to_have_attribute("aria-label", _label_re(interval))
        expect(legend).to_have_text("O 140.50  H 140.50  L 140.50  C 140.50  V 1.00")
    assert {u.split("interval=")[1].split("&")[0] for u in klines} == set(API_INTERVALS[1:])
    # The choice is kept for the next visit.
    page.reload()
    expect(page.locator('#interval-buttons button[data-interval="1month"]')).to_have_attribute(
        "aria-pressed", "true"
    )


def test_older_candles_load_as_the_chart_is_scrolled_back_and_gaps_stay_gaps(page, traders, chart_library):
    """A candle two days old (inserted as the worker would have built it) is beyond the first
    window of the chart; scrolling back fetches older windows (``endTime``) until it shows, with
    an empty slot for every minute without trades in between."""
    from history.models import Candle
    from markets.models import Market

    sol = Market.objects.get(symbol="SOL_USDC")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    Market.objects.filter(pk=sol.pk).update(created_at=now - timedelta(days=3))
    old = now - timedelta(days=2)
    recent = now - timedelta(minutes=5)
    for at, (o, h, low, c, v) in ((old, (13900, 14100, 13800, 14000, 250)), (recent, (14500,) * 4 + (100,))):
        Candle.objects.create(
            market=sol, interval="1m", open_time=int(at.timestamp() * 1000), open=o, high=h, low=low, close=c,
            volume=v, quote_volume=c * v * 100, trades=1, first_trade_id=1, last_trade_id=1,
        )  # fmt: skip
    klines: list[str] = []
    page.on("request", lambda r: klines.append(r.url) if "/api/v1/klines" in r.url else None)

    page.goto("/")
    wait_live(page)
    expect(page.locator("#kline-legend")).to_have_text("O 145.00  H 145.00  L 145.00  C 145.00  V 1.00")
    old_s = int(old.timestamp())
    assert all(b["time"] != old_s for b in candles(page))

    def old_candle_loaded() -> bool:
        if any(b["time"] == old_s and "open" in b for b in candles(page)):
            return True
        page.evaluate(f"() => {LW}.chart.timeScale().setVisibleLogicalRange({{from: 0, to: 100}})")
        return False

    wait_until(old_candle_loaded, 30, "the old candle to load", lambda: f"requests: {klines}", pause=0.15)

    assert any("endTime=" in u for u in klines)
    data = candles(page)
    old_bar, recent_bar = data[0], data[-1]
    assert [old_bar[k] for k in ("time", "open", "high", "low", "close")] == [old_s, 139, 141, 138, 140]
    assert recent_bar["time"] == int(recent.timestamp())
    # A real time axis: every minute between the two candles has its slot on the axis.
    index = page.evaluate(
        f"(ts) => ts.map(t => {LW}.chart.timeScale().timeToIndex(t, false))",
        [old_s, old_s + 60, old_s + 3600, recent_bar["time"]],
    )
    assert index[1:] == [index[0] + 1, index[0] + 60, index[0] + 2 * 24 * 60 - 5]

    # Scrolled to it, the crosshair reads it.
    page.evaluate(
        f"(i) => {LW}.chart.timeScale().setVisibleLogicalRange({{from: i - 40, to: i + 40}})", index[0]
    )
    page.wait_for_timeout(100)
    hover_candle(page, old_bar)
    expect(page.locator("#kline-legend")).to_have_text("O 139.00  H 141.00  L 138.00  C 140.00  V 2.50")
    # Never before the market existed.
    created_s = int((now - timedelta(days=3)).timestamp())
    starts = [int(u.split("startTime=")[1].split("&")[0]) for u in klines if "startTime=" in u]
    assert min(starts) >= created_s - 60


def _label_re(interval: str):
    return re.compile(
        rf"^Candlestick chart of SOL/USDC, {re.escape(interval)} candles; latest .*close 14\d\.\d\d"
    )


def _width(r: dict) -> float:
    return r["to"] - r["from"]


def test_without_the_chart_library_the_page_says_so_and_still_works(page, traders):
    """npm missing (make run says so in one line): no candles, but the rest of the page."""
    page.route("**/vendor/lightweight-charts/**", lambda route: route.abort())
    maker, _ = traders
    place(maker, "Bid", 13990, 100)
    page.goto("/")
    wait_live(page)

    expect(page.locator("#kline-note")).to_have_text(
        "The chart library is not installed: run `npm ci` (or `make run`) and reload."
    )
    expect(page.locator("#book-bids .level .px")).to_have_text(["139.90"])
