"""The trading page's view through Django's test client (no browser, no engine): what the
server renders before any script runs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_without_markets_the_page_says_so(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b"No markets yet" in response.content
    assert b"trade.js" not in response.content


def test_the_default_market_and_the_markets_for_the_script(client, demo_markets):
    response = client.get("/")

    assert response.status_code == 200
    assert response.context["market"].symbol == "SOL_USDC"
    assert [m["symbol"] for m in response.context["markets_json"]] == ["BTC_USDC", "ETH_USDC", "SOL_USDC"]
    assert response.context["market_json"]["filters"]["price"]["tickSize"] == "0.01"
    assert b'<script id="market-data" type="application/json">' in response.content


def test_a_market_by_symbol(client, demo_markets):
    response = client.get("/trade/BTC_USDC")

    assert (response.status_code, response.context["market"].symbol) == (200, "BTC_USDC")


def test_an_unknown_market_is_an_html_404(client, demo_markets):
    response = client.get("/trade/<script>")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"<script>" not in response.content.split(b"<body")[1]  # escaped


def test_the_page_is_read_only(client, demo_markets):
    assert client.post("/").status_code == 405
    assert client.head("/trade/SOL_USDC").status_code == 200


def test_every_interval_of_the_klines_api_has_its_button(client, demo_markets):
    from contract.intervals import INTERVAL_NAMES

    response = client.get("/")

    buttons = [f'data-interval="{iv}"'.encode() for iv in INTERVAL_NAMES]
    assert len(buttons) == 15 and all(b in response.content for b in buttons)


def test_the_chart_library_is_served_from_what_npm_installed(client, demo_markets, monkeypatch):
    from markets import ui_views

    monkeypatch.setattr(ui_views, "chart_library", lambda: ui_views.CHART_LIBRARY)
    page = client.get("/").content
    assert b'src="/static/vendor/lightweight-charts/lightweight-charts.standalone.production.js"' in page
    assert b'data-chart-library="true"' in page

    # Without npm: the page still works, says so in place of the chart, and loads no library.
    monkeypatch.setattr(ui_views, "chart_library", lambda: None)
    page = client.get("/").content
    assert b"lightweight-charts" not in page
    assert b'data-chart-library="false"' in page and b"trade.js" in page


def test_the_installed_chart_library_is_a_static_file(client):
    """settings.STATICFILES_DIRS serves node_modules/lightweight-charts/dist when `npm ci` ran."""
    from django.contrib.staticfiles import finders

    from markets.ui_views import CHART_LIBRARY, chart_library

    if chart_library() is None:
        pytest.skip("lightweight-charts is not installed: run `npm ci` (make test does)")
    path = finders.find(CHART_LIBRARY)
    assert "node_modules/lightweight-charts/dist" in str(path)
    assert "LightweightCharts" in open(path, encoding="utf-8").read()[-3000:]
