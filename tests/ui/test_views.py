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
