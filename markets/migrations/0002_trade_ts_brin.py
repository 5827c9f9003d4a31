# A BRIN index on trade time (PostgreSQL only): trades are appended in time order, so a tiny
# block-range index serves time-range scans across markets (``rebuild_candles --since``).
# Other databases get nothing: the (market, ts) b-tree serves them.

from django.db import migrations

BRIN = "CREATE INDEX IF NOT EXISTS trade_ts_brin ON markets_trade USING brin (ts)"
DROP = "DROP INDEX IF EXISTS trade_ts_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BRIN)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('markets', '0001_initial'),
    ]

    operations = [migrations.RunPython(create, drop)]
