"""Accounts' keys and private history: orders, fills, ledger entries, deposits and withdrawals.

A user's engine account id is the Django user's primary key. Rows are written idempotently by
the persistence workers from engine events; balances themselves live only in the engine (the
API reads them from the engine's Redis cache), so nothing here can change what a user owns.
"""

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


class Order(models.Model):
    """The latest known state of an order; ``last_seq`` keeps older events from overwriting newer."""

    order_id = models.BigIntegerField(primary_key=True)
    # History tables written in bulk by the persistence workers carry no database-level
    # foreign keys (a deferred check per row at commit cost a third of a batch's time; the
    # writer checks users and markets itself, and PROTECT still holds for ORM deletes) and no
    # single-column index on them: the composite indexes below lead with the user, and only
    # deleting a market (which PROTECT refuses anyway) looks rows up by market alone.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        db_constraint=False,
        db_index=False,
    )
    market = models.ForeignKey(
        "markets.Market", on_delete=models.PROTECT, related_name="orders", db_constraint=False, db_index=False
    )
    side = models.CharField(max_length=4)
    order_type = models.CharField(max_length=8)
    time_in_force = models.CharField(max_length=4)
    post_only = models.BooleanField(default=False)
    self_trade_prevention = models.CharField(max_length=16)
    client_id = models.BigIntegerField(null=True, blank=True)
    price = models.BigIntegerField(null=True, blank=True)
    quantity = models.BigIntegerField(null=True, blank=True)
    quote_quantity = models.BigIntegerField(null=True, blank=True)
    executed_quantity = models.BigIntegerField(default=0)
    executed_quote_quantity = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16)
    created_ts = models.BigIntegerField(help_text="ms since epoch")
    # The rate its reserve was locked with (what rebuilding the engine's state from the database
    # needs); empty for orders written by a release before it.
    fee_bps = models.IntegerField(null=True, blank=True)
    trigger_price = models.BigIntegerField(null=True, blank=True, help_text="ticks; trigger orders only")
    # Its place in time priority: its id, or for a trigger order the id drawn when it was placed
    # on the book (empty while it waits, and for orders written by a release before it).
    priority = models.BigIntegerField(null=True, blank=True)
    last_seq = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_ts"], name="order_user_created"),
            models.Index(fields=["user", "market", "-created_ts"], name="order_user_market_created"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} {self.status}"


class Fill(models.Model):
    """One side of one trade, as its owner sees it."""

    # The engine's event seq is unique and is the key: no surrogate id, whose sequence and
    # index every one of a trade's two fills would pay for.
    seq = models.BigIntegerField(primary_key=True, help_text="engine event sequence number")
    # No database-level foreign keys and no single-column indexes on them: see Order.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="fills",
        db_constraint=False,
        db_index=False,
    )
    market = models.ForeignKey(
        "markets.Market", on_delete=models.PROTECT, related_name="fills", db_constraint=False, db_index=False
    )
    order_id = models.BigIntegerField()
    client_id = models.BigIntegerField(null=True, blank=True)
    trade_id = models.BigIntegerField()
    side = models.CharField(max_length=4)
    price = models.BigIntegerField()
    quantity = models.BigIntegerField()
    quote_quantity = models.BigIntegerField()
    fee = models.BigIntegerField()
    fee_asset = models.CharField(max_length=16)
    is_maker = models.BooleanField()
    ts = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["user", "-ts"], name="fill_user_ts")]

    def __str__(self) -> str:
        return f"fill {self.seq} of order {self.order_id}"


class LedgerEntry(models.Model):
    """Every balance change with its cause. One event can move several balances (a trade moves
    the buyer's, the seller's and the fee account's); ``(seq, account, asset, cause)`` is unique.

    The key is derived, not drawn from a sequence: ``seq * 8 + place``, where ``place`` numbers
    the event's entries in (account, asset, cause) order (an event has at most seven). So the
    same event always writes the same keys, and a batch written twice (redelivered, replayed
    after an engine restart, or taken by two workers) finds its rows by their primary key. No
    other index: the persistence workers write seven entries per trade, and each index on them
    was a tenth of a worker's throughput (bench/persist_load.py). Entries are appended in key
    order, at the index's right edge. Nothing reads the ledger by account on a hot path (the
    admin's search ORs the account with a text match on the reference, which scans anyway)."""

    class Cause(models.TextChoices):
        DEPOSIT = "deposit"
        WITHDRAWAL = "withdrawal"
        TRADE = "trade"
        FEE = "fee"

    id = models.BigIntegerField(
        primary_key=True, help_text="seq * 8 + the entry's place among its event's entries"
    )
    seq = models.BigIntegerField()
    account = models.BigIntegerField(help_text="engine account id (user id; 0 is the fee account)")
    asset = models.CharField(max_length=16)
    amount = models.BigIntegerField(help_text="signed change of the total, asset units")
    cause = models.CharField(max_length=16, choices=Cause.choices)
    reference = models.CharField(max_length=64, help_text="tx id or market:trade id")
    ts = models.BigIntegerField()

    class Meta:
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.account} {self.asset} {self.amount:+d} ({self.cause})"


class Transfer(models.Model):
    """A deposit or withdrawal the engine applied."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit"
        WITHDRAWAL = "withdrawal"

    tx_id = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Empty for the fee account (0), which has no user row; ``account`` always says whose it is.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transfers", null=True, blank=True
    )
    account = models.BigIntegerField(help_text="engine account id (user id; 0 is the fee account)")
    asset = models.CharField(max_length=16)
    amount = models.BigIntegerField()
    seq = models.BigIntegerField()
    ts = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["user", "kind", "-ts"], name="transfer_user_kind_ts")]

    def __str__(self) -> str:
        return f"{self.kind} {self.tx_id}"
