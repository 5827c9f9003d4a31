# Orders, fills, ledger entries and transfers are ``history``'s models from ``history`` 0002
# on, with their tables unchanged: they leave this app's migration state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_order_trigger_price_priority'),
        ('history', '0002_history_models'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='Fill'),
                migrations.DeleteModel(name='LedgerEntry'),
                migrations.DeleteModel(name='Order'),
                migrations.DeleteModel(name='Transfer'),
            ],
            database_operations=[],
        ),
    ]
