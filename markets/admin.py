"""Django admin for reference data (assets, markets) and a read-only view of trades.

The engine owns trading state: a market exists for trading once the engine applied its
AddMarket command, and a change takes effect once it applied UpdateMarket. So the admin never
just saves a row: adding records the row and appends the engine command after commit, and
changing goes through ``markets.services.update_market`` (save + engine round trip). What the
engine cannot change (symbol, assets, tick and step sizes, asset decimals) is read-only once
created, so the database can never disagree with the engine about them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction

from engine import client
from exchange_site.api_errors import ApiError
from markets import services
from markets.models import Asset, Market, Trade


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("symbol", "display_name", "decimals")
    search_fields = ("symbol", "display_name")

    def get_readonly_fields(self, request, obj=None):
        # The engine's amounts are integers of 10**-decimals: changing decimals would rescale
        # every balance. The symbol is the engine's key.
        return ("symbol", "decimals") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            transaction.on_commit(lambda: client.append(services.add_asset_command(obj)))


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "base",
        "quote",
        "state",
        "tick_size",
        "step_size",
        "maker_fee_bps",
        "taker_fee_bps",
    )
    list_filter = ("state",)
    list_select_related = ("base", "quote")
    search_fields = ("symbol",)

    def get_readonly_fields(self, request, obj=None):
        # Books hold prices in ticks and quantities in lots: these cannot change under them.
        return ("symbol", "base", "quote", "tick_size", "step_size", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            transaction.on_commit(lambda: client.append(services.add_market_command(obj)))
            return
        # TODO(lead): markets.services.update_market saves the row before the engine has
        # accepted the change; if the engine rejects it or times out, the row and the engine
        # disagree until the next successful update. Here we at least tell the operator.
        try:
            events = services.update_market(obj)
        except ApiError as exc:
            self.message_user(
                request, f"The engine did not confirm the change: {exc.message}", messages.ERROR
            )
            return
        for event in events:
            if event.get("type") == "Rejected":
                self.message_user(
                    request, f"The engine rejected the change: {event.get('message')}", messages.ERROR
                )


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    """Trades are facts written by the engine's persistence; nobody edits them."""

    list_display = ("market", "trade_id", "price", "quantity", "quote_quantity", "is_buyer_maker", "ts")
    list_filter = ("market",)
    list_select_related = ("market",)
    ordering = ("-id",)
    # The changelist's COUNT(*) over millions of trades is slow; an estimate is not needed.
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
