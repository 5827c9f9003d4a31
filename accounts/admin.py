"""Django admin for API keys (list, revoke) and a read-only view of private history.

Keys are created where the secret can be shown once (the API keys page, or
``manage.py create_api_key``), so the admin cannot add one: it only lists and revokes. Orders,
fills, ledger entries and transfers are written by the persistence workers from engine events;
editing them here would make the database disagree with the engine, so they are read-only.
"""

from __future__ import annotations

from django.contrib import admin, messages

from .authentication import forget_cached_keys
from .models import ApiKey, Fill, LedgerEntry, Order, Transfer


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
        count = queryset.filter(revoked=False).update(revoked=True)
        forget_cached_keys()  # update() sends no signals
        self.message_user(request, f"{count} key(s) revoked.", messages.SUCCESS)


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


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("tx_id", "kind", "user", "asset", "amount", "seq", "ts")
    list_filter = ("kind", "asset")
    list_select_related = ("user",)
    search_fields = ("tx_id", "user__username")
