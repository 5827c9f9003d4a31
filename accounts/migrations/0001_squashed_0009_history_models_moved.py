# accounts 0001-0009 in one: API keys. Orders, fills, ledger entries and transfers are
# ``history``'s (its 0001 creates their tables, under the names they had here). A database that
# applied 0001-0009 gets this one recorded as applied by ``migrate``, with nothing to do.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [
        ("accounts", "0001_initial"),
        ("accounts", "0002_transfer_account"),
        ("accounts", "0003_history_bulk_writes"),
        ("accounts", "0004_fill_keyed_by_seq"),
        ("accounts", "0005_ledger_keyed_by_event"),
        ("accounts", "0006_order_fee_bps"),
        ("accounts", "0007_admin_names"),
        ("accounts", "0008_order_trigger_price_priority"),
        ("accounts", "0009_history_models_moved"),
    ]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_key", models.CharField(help_text="base64 Ed25519 public key", max_length=64, unique=True)),
                ("label", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked", models.BooleanField(default=False)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_keys",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API key",
            },
        ),
    ]
