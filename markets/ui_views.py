"""The trading page: a thin view. Everything live (book, trades, chart, orders, balances) is
fetched by ``static/js/trade.js`` from the public and private REST API and the websocket; the
view only names the markets and the selected one, and whether the chart library is installed."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from contract.intervals import INTERVAL_NAMES
from markets import selectors
from markets.api.serializers import market_object

# The market ``/`` opens when it exists (the demo's main market); otherwise the first by symbol.
DEFAULT_MARKET = "SOL_USDC"
# lightweight-charts as `npm ci` installs it (package.json); settings.STATICFILES_DIRS serves its
# dist/ folder under this prefix when it exists.
CHART_LIBRARY = "vendor/lightweight-charts/lightweight-charts.standalone.production.js"


def chart_library() -> str | None:
    """The static path of the chart library, or None when it is not installed (no npm)."""
    return CHART_LIBRARY if finders.find(CHART_LIBRARY) else None


@require_safe
def trade(request: HttpRequest, symbol: str | None = None) -> HttpResponse:
    markets = selectors.list_markets()
    by_symbol = {m.symbol: m for m in markets}
    if symbol is None:
        market = by_symbol.get(DEFAULT_MARKET) or (markets[0] if markets else None)
    else:
        market = by_symbol.get(symbol)
        if market is None:
            # An HTML page for people (the project's handler404 answers JSON, for API clients).
            return render(
                request, "markets/unknown_market.html", {"symbol": symbol, "markets": markets}, status=404
            )
    context = {
        "markets": markets,
        "market": market,
        # The wire shape of /api/v1/markets, so the script reads tick and step sizes as the
        # API states them (decimal strings).
        "market_json": market_object(market) if market else None,
        "markets_json": [market_object(m) for m in markets],
        "faucet_enabled": settings.DEBUG,
        "chart_library": chart_library() if market else None,
        "intervals": INTERVAL_NAMES,  # every interval of the klines API, in its order
    }
    return render(request, "markets/trade.html", context)
