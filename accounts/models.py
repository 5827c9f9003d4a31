"""Accounts' API keys. A user's engine account id is the Django user's primary key; the
account's history (orders, fills, ledger entries, transfers) is ``history``'s, and its balances
live only in the engine (the API reads them from the engine's Redis cache)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    public_key = models.CharField(max_length=64, unique=True, help_text="base64 Ed25519 public key")
    label = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.user} {self.label or self.public_key[:8]}"
