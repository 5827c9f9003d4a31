"""Reference data (assets, markets) and public market history (trades, candles).

Amounts are stored as the engine's integers: prices in ticks, quantities in lots, quote
amounts in the quote asset's smallest unit. They are exact on every database and convert to
decimal strings at the API edge with the market's tick and step sizes (``markets.units``).
"""

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


class Trade(models.Model):
    """One trade, written idempotently from the engine's Trade event."""

    # No database-level foreign key and no index of its own: bulk-written history (see
    # accounts.models.Order); the (market, trade_id) and (market, ts) indexes lead with it.
    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, related_name="trades", db_constraint=False, db_index=False
    )
    trade_id = models.BigIntegerField()
    price = models.BigIntegerField(help_text="ticks")
    quantity = models.BigIntegerField(help_text="lots")
    quote_quantity = models.BigIntegerField(help_text="quote asset units")
    buyer_order_id = models.BigIntegerField()
    seller_order_id = models.BigIntegerField()
    is_buyer_maker = models.BooleanField()
    ts = models.BigIntegerField(help_text="ms since epoch")
    seq = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["market", "trade_id"], name="trade_unique_per_market")]
        indexes = [models.Index(fields=["market", "ts"], name="trade_market_ts")]

    def __str__(self) -> str:
        return f"trade {self.trade_id} of market {self.market_id}"


class Candle(models.Model):
    """OHLCV of one (market, interval, open time) bucket, derived from trades."""

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="candles")
    interval = models.CharField(max_length=8)
    open_time = models.BigIntegerField(help_text="ms since epoch, bucket start (inclusive)")
    open = models.BigIntegerField()
    high = models.BigIntegerField()
    low = models.BigIntegerField()
    close = models.BigIntegerField()
    volume = models.BigIntegerField(help_text="lots")
    quote_volume = models.BigIntegerField(help_text="quote asset units")
    trades = models.BigIntegerField()
    first_trade_id = models.BigIntegerField()
    last_trade_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["market", "interval", "open_time"], name="candle_unique_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.interval} candle at {self.open_time} of market {self.market_id}"
