# history 0001-0002 in one, with the tables ``markets`` and ``accounts`` created before these
# models became ``history``'s (``markets`` 0001-0004, ``accounts`` 0001-0009): each keeps the
# table name it had there (``db_table``). A database that applied those migrations gets this one
# recorded as applied by ``migrate``, with nothing to do.
#
# A fresh database gets the very schema those databases have, down to column order and key
# names: hence the few steps after a CreateModel below, which make what it created the way the
# old migrations left it (SQLite rebuilds a table on such a change, with the changed column
# last; PostgreSQL names a primary key added later differently from one created with the table).
# The models come in the order history 0002 created them: the order of their content type ids.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def on_postgresql(sql):
    """A step only PostgreSQL takes: the other databases do without it."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return migrations.RunPython(run, migrations.RunPython.noop)


def unindexed_foreign_key(to, related_name):
    # No database-level foreign key and no index of its own: see history.models.Order.
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        on_delete=django.db.models.deletion.PROTECT,
        related_name=related_name,
        to=to,
    )


class Migration(migrations.Migration):
    replaces = [
        ("history", "0001_checkpoints"),
        ("history", "0002_history_models"),
    ]

    initial = True

    dependencies = [
        ("markets", "0001_squashed_0004_history_models_moved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Checkpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("from_seq", models.BigIntegerField()),
                (
                    "seq",
                    models.BigIntegerField(help_text="the batch held every persisted event with from_seq < seq <= this"),
                ),
                (
                    "stream_id",
                    models.CharField(
                        blank=True,
                        help_text="the last command applied at seq; empty when seq is mid-command",
                        max_length=32,
                    ),
                ),
                ("state", models.JSONField(blank=True, null=True)),
                ("base", models.BooleanField(default=False)),
                ("written_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("from_seq", "seq"), name="checkpoint_range")],
            },
        ),
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField()),
                ("account", models.BigIntegerField(help_text="engine account id (user id; 0 is the fee account)")),
                ("asset", models.CharField(max_length=16)),
                ("amount", models.BigIntegerField(help_text="signed change of the total, asset units")),
                (
                    "cause",
                    models.CharField(
                        choices=[("deposit", "Deposit"), ("withdrawal", "Withdrawal"), ("trade", "Trade"), ("fee", "Fee")],
                        max_length=16,
                    ),
                ),
                ("reference", models.CharField(help_text="tx id or market:trade id", max_length=64)),
                ("ts", models.BigIntegerField()),
            ],
            options={
                "verbose_name_plural": "ledger entries",
                "db_table": "accounts_ledgerentry",
            },
        ),
        # Keyed by seq * 8 + place: the key it got after it was created.
        migrations.AlterField(
            model_name="ledgerentry",
            name="id",
            field=models.BigIntegerField(
                help_text="seq * 8 + the entry's place among its event's entries", primary_key=True, serialize=False
            ),
        ),
        migrations.CreateModel(
            name="Candle",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("interval", models.CharField(max_length=8)),
                ("open_time", models.BigIntegerField(help_text="ms since epoch, bucket start (inclusive)")),
                ("open", models.BigIntegerField()),
                ("high", models.BigIntegerField()),
                ("low", models.BigIntegerField()),
                ("close", models.BigIntegerField()),
                ("volume", models.BigIntegerField(help_text="lots")),
                ("quote_volume", models.BigIntegerField(help_text="quote asset units")),
                ("trades", models.BigIntegerField()),
                ("first_trade_id", models.BigIntegerField()),
                ("last_trade_id", models.BigIntegerField()),
                (
                    "market",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="candles", to="markets.market"
                    ),
                ),
            ],
            options={
                "db_table": "markets_candle",
                "constraints": [
                    models.UniqueConstraint(fields=("market", "interval", "open_time"), name="candle_unique_bucket")
                ],
            },
        ),
        migrations.CreateModel(
            name="Fill",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(help_text="engine event sequence number", unique=True)),
                ("order_id", models.BigIntegerField()),
                ("client_id", models.BigIntegerField(blank=True, null=True)),
                ("trade_id", models.BigIntegerField()),
                ("side", models.CharField(max_length=4)),
                ("price", models.BigIntegerField()),
                ("quantity", models.BigIntegerField()),
                ("quote_quantity", models.BigIntegerField()),
                ("fee", models.BigIntegerField()),
                ("fee_asset", models.CharField(max_length=16)),
                ("is_maker", models.BooleanField()),
                ("ts", models.BigIntegerField()),
                ("market", unindexed_foreign_key("markets.market", "fills")),
                ("user", unindexed_foreign_key(settings.AUTH_USER_MODEL, "fills")),
            ],
            options={
                "db_table": "accounts_fill",
                "indexes": [models.Index(fields=["user", "-ts"], name="fill_user_ts")],
            },
        ),
        # Keyed by seq: the key the table got after it was created.
        migrations.RemoveField(model_name="fill", name="id"),
        migrations.AlterField(
            model_name="fill",
            name="seq",
            field=models.BigIntegerField(help_text="engine event sequence number", primary_key=True, serialize=False),
        ),
        migrations.CreateModel(
            name="Order",
            fields=[
                ("order_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("side", models.CharField(max_length=4)),
                ("order_type", models.CharField(max_length=8)),
                ("time_in_force", models.CharField(max_length=4)),
                ("post_only", models.BooleanField(default=False)),
                ("self_trade_prevention", models.CharField(max_length=16)),
                ("client_id", models.BigIntegerField(blank=True, null=True)),
                ("price", models.BigIntegerField(blank=True, null=True)),
                ("quantity", models.BigIntegerField(blank=True, null=True)),
                ("quote_quantity", models.BigIntegerField(blank=True, null=True)),
                ("executed_quantity", models.BigIntegerField(default=0)),
                ("executed_quote_quantity", models.BigIntegerField(default=0)),
                ("status", models.CharField(max_length=16)),
                ("created_ts", models.BigIntegerField(help_text="ms since epoch")),
                ("last_seq", models.BigIntegerField()),
                ("market", unindexed_foreign_key("markets.market", "orders")),
                ("user", unindexed_foreign_key(settings.AUTH_USER_MODEL, "orders")),
                ("fee_bps", models.IntegerField(blank=True, null=True)),
                ("priority", models.BigIntegerField(blank=True, null=True)),
                ("trigger_price", models.BigIntegerField(blank=True, help_text="ticks; trigger orders only", null=True)),
            ],
            options={
                "db_table": "accounts_order",
                "indexes": [
                    models.Index(fields=["user", "-created_ts"], name="order_user_created"),
                    models.Index(fields=["user", "market", "-created_ts"], name="order_user_market_created"),
                ],
            },
        ),
        # Room on each page for the order's next version: an order row is rewritten on every
        # fill, and with free space on its page (and no indexed column changed) PostgreSQL can
        # update it in place (a HOT update) without touching the indexes.
        on_postgresql("ALTER TABLE accounts_order SET (fillfactor = 70)"),
        migrations.CreateModel(
            name="Trade",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("trade_id", models.BigIntegerField()),
                ("price", models.BigIntegerField(help_text="ticks")),
                ("quantity", models.BigIntegerField(help_text="lots")),
                ("quote_quantity", models.BigIntegerField(help_text="quote asset units")),
                ("buyer_order_id", models.BigIntegerField()),
                ("seller_order_id", models.BigIntegerField()),
                ("is_buyer_maker", models.BooleanField()),
                ("ts", models.BigIntegerField(help_text="ms since epoch")),
                ("seq", models.BigIntegerField()),
                ("market", unindexed_foreign_key("markets.market", "trades")),
            ],
            options={
                "db_table": "markets_trade",
                "indexes": [models.Index(fields=["market", "ts"], name="trade_market_ts")],
                "constraints": [models.UniqueConstraint(fields=("market", "trade_id"), name="trade_unique_per_market")],
            },
        ),
        # Trades are appended in time order, so a tiny block-range index serves time-range scans
        # across markets (``rebuild_candles --since``); elsewhere the (market, ts) b-tree does.
        on_postgresql("CREATE INDEX IF NOT EXISTS trade_ts_brin ON markets_trade USING brin (ts)"),
        migrations.CreateModel(
            name="Transfer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tx_id", models.CharField(max_length=128, unique=True)),
                ("kind", models.CharField(choices=[("deposit", "Deposit"), ("withdrawal", "Withdrawal")], max_length=16)),
                ("asset", models.CharField(max_length=16)),
                ("amount", models.BigIntegerField()),
                ("seq", models.BigIntegerField()),
                ("ts", models.BigIntegerField()),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transfers",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("account", models.BigIntegerField(help_text="engine account id (user id; 0 is the fee account)")),
            ],
            options={
                "db_table": "accounts_transfer",
                "indexes": [models.Index(fields=["user", "kind", "-ts"], name="transfer_user_kind_ts")],
            },
        ),
        # Empty for the fee account (0): the user link became optional after the table was created.
        migrations.AlterField(
            model_name="transfer",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="transfers",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
