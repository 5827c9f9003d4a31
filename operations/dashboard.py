"""The operator's dashboard (``/admin/dashboard/``, staff only): the state of the exchange on one
page that refreshes itself, and the one action it offers, requeueing a dead-letter batch."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from contract import md_cache
from engine.core.messages import NEW, PARTIALLY_FILLED
from exchange_site.redis_client import get_redis
from history.models import Order
from history.outbox import outbox
from history.tasks import persist_events
from markets.models import Market

from .state import exchange_state

REFRESH_S = 5


@dataclass
class MarketRow:
    symbol: str
    state: str
    best_bid: str | None
    best_ask: str | None
    bid_levels: int
    ask_levels: int
    volume: str | None
    quote_volume: str | None
    open_orders: int


def market_rows() -> list[MarketRow]:
    """Per market: its state, the book as the cache has it, the 24 h volume, its open orders (as
    persisted)."""
    client = get_redis()
    open_orders = dict(
        Order.objects.filter(status__in=(NEW, PARTIALLY_FILLED))
        .values("market__symbol")
        .annotate(n=Count("order_id"))
        .values_list("market__symbol", "n")
    )
    rows = []
    for market in Market.objects.order_by("symbol"):
        depth = md_cache.read_depth(client, market.symbol) or {"bids": [], "asks": []}
        ticker = md_cache.read_ticker(client, market.symbol) or {}
        bids, asks = depth["bids"], depth["asks"]  # both ascending by price
        rows.append(
            MarketRow(
                symbol=market.symbol,
                state=market.get_state_display(),
                best_bid=bids[-1][0] if bids else None,
                best_ask=asks[0][0] if asks else None,
                bid_levels=len(bids),
                ask_levels=len(asks),
                volume=ticker.get("volume"),
                quote_volume=ticker.get("quoteVolume"),
                open_orders=open_orders.get(market.symbol, 0),
            )
        )
    return rows


def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Exchange dashboard",
        "state": exchange_state(),
        "dead_letters": outbox().dead_letters(get_redis()),
        "markets": market_rows(),
        "refresh_s": REFRESH_S,
        "now": timezone.now(),
    }
    return TemplateResponse(request, "operations/dashboard.html", context)


@require_POST
def requeue(request: HttpRequest) -> HttpResponse:
    """Put a dead-letter batch back into the persistence outbox, with its task."""
    dead_id = request.POST.get("dead_id", "")
    entry_id = outbox().revive(get_redis(), dead_id)
    if entry_id is None:
        messages.warning(request, f"Dead letter {dead_id} is not there any more.")
    else:
        persist_events.apply_async(args=[entry_id])
        messages.success(request, f"Dead letter {dead_id} is back in the outbox as {entry_id}, and queued.")
    return HttpResponseRedirect(reverse("admin:dashboard"))
