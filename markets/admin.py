"""Django admin for reference data (assets, markets) and a read-only view of trades.

The engine owns trading state: a market exists for trading once the engine applied its
AddMarket command, and a change takes effect once it applied UpdateMarket. So the admin never
just saves a row: the form first runs the engine's own checks on the definition (a row the
engine would refuse would be listed as tradable, and would be refused again at every engine
start), adding records the row and appends the engine command after commit, and changing goes
through ``markets.services.update_market`` (saved only if the engine accepts it). What the
engine cannot change (symbol, assets, tick and step sizes, asset decimals) is read-only once
created, so the database can never disagree with the engine about them.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect

from engine import client
from exchange_site.api_errors import ApiError
from history.models import Trade
from markets import services
from markets.models import Asset, Market


class AssetForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not self.errors:
            problem = services.asset_problem(Asset(**{**cleaned, "display_name": ""}))
            if problem is not None:
                raise forms.ValidationError(problem)
        return cleaned


class MarketForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            # The fields read-only on a change are not in the form: they come from the row.
            candidate = copy.copy(self.instance)
            for name, value in cleaned.items():
                setattr(candidate, name, value)
            problem = services.market_problem(candidate)
            if problem is not None:
                raise forms.ValidationError(f"The engine would refuse this market: {problem}")
        return cleaned


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    form = AssetForm
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
    form = MarketForm
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
        try:
            services.update_market(obj)
        except services.MarketChangeRejected as exc:
            request.market_change_failed = True
            self.message_user(
                request, f"The engine rejected the change: {exc}. Nothing was saved.", messages.ERROR
            )
        except ApiError as exc:
            request.market_change_failed = True
            self.message_user(
                request,
                f"The engine did not confirm the change ({exc.message}); the row was not saved. "
                "Check the market's state in the API before trying again.",
                messages.ERROR,
            )

    def log_change(self, request, obj, message):
        if not getattr(request, "market_change_failed", False):
            return super().log_change(request, obj, message)
        return None

    def response_change(self, request, obj):
        if getattr(request, "market_change_failed", False):
            # Back to the form with the error alone, not "changed successfully".
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


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
