# markets 0001-0004 in one: assets and markets. Trades and candles are ``history``'s (its 0001
# creates their tables, under the names they had here). A database that applied 0001-0004 gets
# this one recorded as applied by ``migrate``, with nothing to do.

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [
        ("markets", "0001_initial"),
        ("markets", "0002_trade_ts_brin"),
        ("markets", "0003_history_bulk_writes"),
        ("markets", "0004_history_models_moved"),
    ]

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Asset",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("symbol", models.CharField(max_length=16, unique=True)),
                ("display_name", models.CharField(max_length=64)),
                ("decimals", models.PositiveSmallIntegerField(help_text="Smallest unit is 10**-decimals.")),
            ],
            options={
                "ordering": ["symbol"],
            },
        ),
        migrations.CreateModel(
            name="Market",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("symbol", models.CharField(max_length=32, unique=True)),
                ("tick_size", models.DecimalField(decimal_places=18, max_digits=30)),
                ("step_size", models.DecimalField(decimal_places=18, max_digits=30)),
                ("min_price", models.DecimalField(decimal_places=18, max_digits=30)),
                ("max_price", models.DecimalField(decimal_places=18, max_digits=30)),
                ("min_quantity", models.DecimalField(decimal_places=18, max_digits=30)),
                ("max_quantity", models.DecimalField(decimal_places=18, max_digits=30)),
                ("min_notional", models.DecimalField(decimal_places=18, default=Decimal("0"), max_digits=30)),
                ("maker_fee_bps", models.PositiveIntegerField(default=0)),
                ("taker_fee_bps", models.PositiveIntegerField(default=0)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("Open", "Open"),
                            ("PostOnly", "Post Only"),
                            ("CancelOnly", "Cancel Only"),
                            ("Closed", "Closed"),
                        ],
                        default="Open",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "base",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="base_markets", to="markets.asset"
                    ),
                ),
                (
                    "quote",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="quote_markets", to="markets.asset"
                    ),
                ),
            ],
            options={
                "ordering": ["symbol"],
            },
        ),
    ]
