# The history models (trades and candles of ``markets``; orders, fills, ledger entries and
# transfers of ``accounts``) become ``history``'s, in the migration state only: each keeps its
# table (``db_table``), so nothing in the database moves. ``markets`` 0004 and ``accounts`` 0009
# drop them from their own state after this. The content types move too, so that the
# permissions and admin log entries of the old labels stay attached to these models.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MOVED = {"accounts": ("order", "fill", "ledgerentry", "transfer"), "markets": ("trade", "candle")}


def _move_content_types(apps, schema_editor, forward: bool) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    for app_label, names in MOVED.items():
        source, target = (app_label, "history") if forward else ("history", app_label)
        for name in names:
            if not content_types.filter(app_label=target, model=name).exists():
                content_types.filter(app_label=source, model=name).update(app_label=target)


def move_content_types(apps, schema_editor):
    _move_content_types(apps, schema_editor, forward=True)


def move_content_types_back(apps, schema_editor):
    _move_content_types(apps, schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ('history', '0001_checkpoints'),
        ('accounts', '0008_order_trigger_price_priority'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('markets', '0003_history_bulk_writes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LedgerEntry',
                    fields=[
                        ('id', models.BigIntegerField(help_text="seq * 8 + the entry's place among its event's entries", primary_key=True, serialize=False)),
                        ('seq', models.BigIntegerField()),
                        ('account', models.BigIntegerField(help_text='engine account id (user id; 0 is the fee account)')),
                        ('asset', models.CharField(max_length=16)),
                        ('amount', models.BigIntegerField(help_text='signed change of the total, asset units')),
                        ('cause', models.CharField(choices=[('deposit', 'Deposit'), ('withdrawal', 'Withdrawal'), ('trade', 'Trade'), ('fee', 'Fee')], max_length=16)),
                        ('reference', models.CharField(help_text='tx id or market:trade id', max_length=64)),
                        ('ts', models.BigIntegerField()),
                    ],
                    options={
                        'verbose_name_plural': 'ledger entries',
                        'db_table': 'accounts_ledgerentry',
                    },
                ),
                migrations.CreateModel(
                    name='Candle',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('interval', models.CharField(max_length=8)),
                        ('open_time', models.BigIntegerField(help_text='ms since epoch, bucket start (inclusive)')),
                        ('open', models.BigIntegerField()),
                        ('high', models.BigIntegerField()),
                        ('low', models.BigIntegerField()),
                        ('close', models.BigIntegerField()),
                        ('volume', models.BigIntegerField(help_text='lots')),
                        ('quote_volume', models.BigIntegerField(help_text='quote asset units')),
                        ('trades', models.BigIntegerField()),
                        ('first_trade_id', models.BigIntegerField()),
                        ('last_trade_id', models.BigIntegerField()),
                        ('market', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='candles', to='markets.market')),
                    ],
                    options={
                        'db_table': 'markets_candle',
                        'constraints': [models.UniqueConstraint(fields=('market', 'interval', 'open_time'), name='candle_unique_bucket')],
                    },
                ),
                migrations.CreateModel(
                    name='Fill',
                    fields=[
                        ('seq', models.BigIntegerField(help_text='engine event sequence number', primary_key=True, serialize=False)),
                        ('order_id', models.BigIntegerField()),
                        ('client_id', models.BigIntegerField(blank=True, null=True)),
                        ('trade_id', models.BigIntegerField()),
                        ('side', models.CharField(max_length=4)),
                        ('price', models.BigIntegerField()),
                        ('quantity', models.BigIntegerField()),
                        ('quote_quantity', models.BigIntegerField()),
                        ('fee', models.BigIntegerField()),
                        ('fee_asset', models.CharField(max_length=16)),
                        ('is_maker', models.BooleanField()),
                        ('ts', models.BigIntegerField()),
                        ('market', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='fills', to='markets.market')),
                        ('user', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='fills', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_fill',
                        'indexes': [models.Index(fields=['user', '-ts'], name='fill_user_ts')],
                    },
                ),
                migrations.CreateModel(
                    name='Order',
                    fields=[
                        ('order_id', models.BigIntegerField(primary_key=True, serialize=False)),
                        ('side', models.CharField(max_length=4)),
                        ('order_type', models.CharField(max_length=8)),
                        ('time_in_force', models.CharField(max_length=4)),
                        ('post_only', models.BooleanField(default=False)),
                        ('self_trade_prevention', models.CharField(max_length=16)),
                        ('client_id', models.BigIntegerField(blank=True, null=True)),
                        ('price', models.BigIntegerField(blank=True, null=True)),
                        ('quantity', models.BigIntegerField(blank=True, null=True)),
                        ('quote_quantity', models.BigIntegerField(blank=True, null=True)),
                        ('executed_quantity', models.BigIntegerField(default=0)),
                        ('executed_quote_quantity', models.BigIntegerField(default=0)),
                        ('status', models.CharField(max_length=16)),
                        ('created_ts', models.BigIntegerField(help_text='ms since epoch')),
                        ('fee_bps', models.IntegerField(blank=True, null=True)),
                        ('trigger_price', models.BigIntegerField(blank=True, help_text='ticks; trigger orders only', null=True)),
                        ('priority', models.BigIntegerField(blank=True, null=True)),
                        ('last_seq', models.BigIntegerField()),
                        ('market', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='markets.market')),
                        ('user', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_order',
                        'indexes': [models.Index(fields=['user', '-created_ts'], name='order_user_created'), models.Index(fields=['user', 'market', '-created_ts'], name='order_user_market_created')],
                    },
                ),
                migrations.CreateModel(
                    name='Trade',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('trade_id', models.BigIntegerField()),
                        ('price', models.BigIntegerField(help_text='ticks')),
                        ('quantity', models.BigIntegerField(help_text='lots')),
                        ('quote_quantity', models.BigIntegerField(help_text='quote asset units')),
                        ('buyer_order_id', models.BigIntegerField()),
                        ('seller_order_id', models.BigIntegerField()),
                        ('is_buyer_maker', models.BooleanField()),
                        ('ts', models.BigIntegerField(help_text='ms since epoch')),
                        ('seq', models.BigIntegerField()),
                        ('market', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='trades', to='markets.market')),
                    ],
                    options={
                        'db_table': 'markets_trade',
                        'indexes': [models.Index(fields=['market', 'ts'], name='trade_market_ts')],
                        'constraints': [models.UniqueConstraint(fields=('market', 'trade_id'), name='trade_unique_per_market')],
                    },
                ),
                migrations.CreateModel(
                    name='Transfer',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tx_id', models.CharField(max_length=128, unique=True)),
                        ('kind', models.CharField(choices=[('deposit', 'Deposit'), ('withdrawal', 'Withdrawal')], max_length=16)),
                        ('account', models.BigIntegerField(help_text='engine account id (user id; 0 is the fee account)')),
                        ('asset', models.CharField(max_length=16)),
                        ('amount', models.BigIntegerField()),
                        ('seq', models.BigIntegerField()),
                        ('ts', models.BigIntegerField()),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_transfer',
                        'indexes': [models.Index(fields=['user', 'kind', '-ts'], name='transfer_user_kind_ts')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
