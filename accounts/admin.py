"""Django admin for API keys (list, revoke) and a read-only view of private history.

Keys are created where the secret can be shown once (the API keys page, or
``manage.py create_api_key``), so the admin cannot add one: it only lists and revokes. Orders,
fills, ledger entries and transfers are written by the persistence workers from engine events;
editing them here would make the database disagree with the engine, so they are read-only.

Balances belong to the engine. A user's page shows them as the engine last wrote them, and a
balance is changed by a deposit or withdrawal command (``Transfers > Adjust a balance``), which
the ledger then records like any other, with an ``admin:`` tx id.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from exchange_site.api_errors import ApiError
from history.models import Fill, LedgerEntry, Order, Transfer
from markets.models import Asset

from . import selectors, services
from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("user", "label", "public_key", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    list_select_related = ("user",)
    search_fields = ("user__username", "label", "public_key")
    readonly_fields = ("user", "public_key", "created_at", "last_used_at")
    fields = ("user", "label", "public_key", "created_at", "last_used_at", "revoked")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset) -> None:
        keys = list(queryset.filter(revoked=False))
        for key in keys:
            # One save per key, not update(): the signals drop the cached key and end the
            # websocket subscriptions it signed (streams.credentials).
            key.revoked = True
            key.save(update_fields=["revoked"])
        self.message_user(request, f"{len(keys)} key(s) revoked.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    # Prices and quantities are the engine's integers (ticks, lots), as stored.
    list_display = (
        "order_id",
        "user",
        "market",
        "side",
        "order_type",
        "price",
        "quantity",
        "status",
        "created_ts",
    )
    list_filter = ("status", "side", "order_type", "market")
    list_select_related = ("user", "market")
    search_fields = ("=order_id", "user__username")


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = (
        "trade_id",
        "user",
        "market",
        "order_id",
        "side",
        "price",
        "quantity",
        "fee",
        "is_maker",
        "ts",
    )
    list_filter = ("market", "side", "is_maker")
    list_select_related = ("user", "market")
    search_fields = ("=order_id", "user__username")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "account", "asset", "amount", "cause", "reference", "ts")
    list_filter = ("cause", "asset")
    search_fields = ("=account", "reference")


class BalanceAdjustmentForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.order_by("username"))
    kind = forms.ChoiceField(choices=Transfer.Kind.choices)
    asset = forms.ChoiceField(choices=())
    amount = forms.CharField(help_text="A positive decimal, in whole units of the asset (100.5)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["asset"].choices = [(a, a) for a in Asset.objects.values_list("symbol", flat=True)]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("tx_id", "kind", "user", "asset", "amount", "seq", "ts")
    list_filter = ("kind", "asset")
    list_select_related = ("user",)
    search_fields = ("tx_id", "user__username")

    def get_urls(self):
        view = self.admin_site.admin_view(self.adjust_view)
        return [path("adjust/", view, name="history_transfer_adjust"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "adjust_url": reverse("admin:history_transfer_adjust")}
        return super().changelist_view(request, extra_context)

    def adjust_view(self, request: HttpRequest) -> HttpResponse:
        """A deposit or a withdrawal through the engine; the ledger records it as any other."""
        if not request.user.has_perm("history.add_transfer"):
            raise PermissionDenied
        form = BalanceAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            user, kind = form.cleaned_data["user"], form.cleaned_data["kind"]
            asset, amount = form.cleaned_data["asset"], form.cleaned_data["amount"]
            change = services.deposit if kind == Transfer.Kind.DEPOSIT else services.withdraw
            try:
                done = change(user, asset, amount, tx_id=services.new_tx_id(f"admin:{request.user.pk}"))
            except ApiError as exc:
                form.add_error(None, f"The engine refused it: {exc.code}: {exc.message}")
            else:
                self.message_user(
                    request,
                    f"{kind.capitalize()} of {done['quantity']} {asset} for {user} applied by the engine "
                    f"(tx {done['identifier']}); the ledger lists it once persisted.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:history_transfer_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Adjust a balance",
            "form": form,
        }
        return TemplateResponse(request, "admin/history/transfer/adjust.html", context)


admin.site.unregister(get_user_model())


DEACTIVATION_HELP = (
    "Unticking it deactivates the user: their API keys and sessions stop working at once, their"
    " private streams close, and their open orders are cancelled through the engine."
)


@admin.register(get_user_model())
class ExchangeUserAdmin(UserAdmin):
    readonly_fields = ("engine_balances",)
    fieldsets = (*UserAdmin.fieldsets, ("Balances", {"fields": ("engine_balances",)}))
    actions = ["deactivate"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "is_active" in form.base_fields:
            form.base_fields["is_active"].help_text = DEACTIVATION_HELP
        return form

    def save_model(self, request, obj, form, change) -> None:
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivating:
            self._deactivate(request, obj)

    @admin.action(description="Deactivate the selected users (their open orders are cancelled)")
    def deactivate(self, request, queryset) -> None:
        for user in queryset:
            self._deactivate(request, user)

    def _deactivate(self, request, user) -> None:
        done = services.deactivate_user(user)
        self.message_user(
            request, done.summary(user), messages.WARNING if done.engine_error else messages.SUCCESS
        )

    @admin.display(description="Balances (from the engine)")
    def engine_balances(self, user) -> str:
        if user.pk is None:
            return "-"
        try:
            held = selectors.balances(user)
        except ApiError as exc:
            return exc.message
        if not held:
            return "none"
        rows = ((asset, b["available"], b["locked"]) for asset, b in held.items())
        return format_html_join("\n", "<div>{}: {} available, {} locked</div>", rows)
