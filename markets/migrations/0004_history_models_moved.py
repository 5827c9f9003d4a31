# Trades and candles are ``history``'s models from ``history`` 0002 on, with their tables
# unchanged: they leave this app's migration state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('markets', '0003_history_bulk_writes'),
        ('history', '0002_history_models'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='Candle'),
                migrations.DeleteModel(name='Trade'),
            ],
            database_operations=[],
        ),
    ]
