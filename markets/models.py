"""Reference data: assets and markets. Their history (trades, candles) is ``history``'s."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class Asset(models.Model):
    symbol = models.CharField(max_length=16, unique=True)
    display_name = models.CharField(max_length=64)
    decimals = models.PositiveSmallIntegerField(help_text="Smallest unit is 10**-decimals.")

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class Market(models.Model):
    class State(models.TextChoices):
        OPEN = "Open"
        POST_ONLY = "PostOnly"
        CANCEL_ONLY = "CancelOnly"
        CLOSED = "Closed"

    symbol = models.CharField(max_length=32, unique=True)
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="base_markets")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="quote_markets")
    tick_size = models.DecimalField(max_digits=30, decimal_places=18)
    step_size = models.DecimalField(max_digits=30, decimal_places=18)
    min_price = models.DecimalField(max_digits=30, decimal_places=18)
    max_price = models.DecimalField(max_digits=30, decimal_places=18)
    min_quantity = models.DecimalField(max_digits=30, decimal_places=18)
    max_quantity = models.DecimalField(max_digits=30, decimal_places=18)
    min_notional = models.DecimalField(max_digits=30, decimal_places=18, default=Decimal("0"))
    maker_fee_bps = models.PositiveIntegerField(default=0)
    taker_fee_bps = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol
