"""The engine's history as the persistence workers write it from its events: trades and
candles, orders, fills, ledger entries, deposits and withdrawals; and where the database stands
in that history (``Checkpoint``).

Every row is written idempotently from engine events (``history.persistence``); nothing here can
change what a user owns (balances live only in the engine). Amounts are the engine's integers:
prices in ticks, quantities in lots, amounts in the asset's smallest unit; they become decimal
strings at the API edge. Each model keeps the table it had when it belonged to ``markets`` or
``accounts`` (``db_table``), so raw SQL and existing databases are unchanged. Markets and users
are referred to by foreign key only: ``history`` imports no web app.

Checkpoints: one row per persistence batch.

The engine's state is the second thing the database can give back (besides the history
itself): ``history.state`` rebuilds it at any checkpoint the database holds every batch up to.
A row says which events its batch held (``from_seq < seq <= seq``: every persisted event in that
range, written in the same transaction as the row) and, when the batch ended where a command
ended, the engine's position there (``stream_id``) and the counters the events do not carry
(``state``: the last order id, and the books' trade and depth update ids and the asset and
market definitions that changed since the engine's previous checkpoint). Rows are written once
per range, like the events: a batch written twice, or a replay's batches overlapping the first
run's, change nothing.

A ``base`` row holds the whole state at its seq, the rows before it folded in (``compact``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


def market_model() -> type[models.Model]:
    """The market rows the history refers to (``markets.models.Market``), through its foreign
    key: the persistence worker needs a market's id and grid, and imports no web app for it."""
    return Trade._meta.get_field("market").related_model


def _bulk_written_fk(to: str, related_name: str) -> models.ForeignKey:
    """A foreign key of a history table written in bulk by the persistence workers: no
    database-level constraint (a deferred check per row at commit cost a third of a batch's
    time; the writer checks users and markets itself, and PROTECT still holds for ORM deletes)
    and no single-column index (the composite indexes lead with it, and only deleting a market,
    which PROTECT refuses anyway, would look rows up by market alone)."""
    return models.ForeignKey(
        to, on_delete=models.PROTECT, related_name=related_name, db_constraint=False, db_index=False
    )


class Checkpoint(models.Model):
    from_seq = models.BigIntegerField()
    seq = models.BigIntegerField(help_text="the batch held every persisted event with from_seq < seq <= this")
    stream_id = models.CharField(
        max_length=32, blank=True, help_text="the last command applied at seq; empty when seq is mid-command"
    )
    state = models.JSONField(null=True, blank=True)
    base = models.BooleanField(default=False)
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["from_seq", "seq"], name="checkpoint_range")]

    def __str__(self) -> str:
        return f"checkpoint ({self.from_seq}, {self.seq}]"


class Trade(models.Model):
    """One trade, written idempotently from the engine's Trade event."""

    # The (market, trade_id) and (market, ts) indexes lead with it.
    market = _bulk_written_fk("markets.Market", "trades")
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
        db_table = "markets_trade"
        constraints = [models.UniqueConstraint(fields=["market", "trade_id"], name="trade_unique_per_market")]
        indexes = [models.Index(fields=["market", "ts"], name="trade_market_ts")]

    def __str__(self) -> str:
        return f"trade {self.trade_id} of market {self.market_id}"


class Candle(models.Model):
    """OHLCV of one (market, interval, open time) bucket, derived from trades."""

    market = models.ForeignKey("markets.Market", on_delete=models.PROTECT, related_name="candles")
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
        db_table = "markets_candle"
        constraints = [
            models.UniqueConstraint(fields=["market", "interval", "open_time"], name="candle_unique_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.interval} candle at {self.open_time} of market {self.market_id}"


class Order(models.Model):
    """The latest known state of an order; ``last_seq`` keeps older events from overwriting newer."""

    order_id = models.BigIntegerField(primary_key=True)
    # The composite indexes below lead with the user.
    user = _bulk_written_fk(settings.AUTH_USER_MODEL, "orders")
    market = _bulk_written_fk("markets.Market", "orders")
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
        db_table = "accounts_order"
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
    user = _bulk_written_fk(settings.AUTH_USER_MODEL, "fills")
    market = _bulk_written_fk("markets.Market", "fills")
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
        db_table = "accounts_fill"
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
        db_table = "accounts_ledgerentry"
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
        db_table = "accounts_transfer"
        indexes = [models.Index(fields=["user", "kind", "-ts"], name="transfer_user_kind_ts")]

    def __str__(self) -> str:
        return f"{self.kind} {self.tx_id}"
