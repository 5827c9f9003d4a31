"""Ledger entries keyed by ``seq * 8 + place`` instead of a sequence (see ``LedgerEntry``).

Existing rows get the key the persistence workers would give them now (``place`` numbers an
event's entries in (account, asset, cause) order, text by code point as Python sorts it), so that a batch written again after the
migration (redelivered, or replayed after an engine restart) finds them instead of adding
them twice. Keys go negative first: a row's new key may be another row's old one.
"""

from django.db import migrations, models

RENUMBER = """
UPDATE accounts_ledgerentry SET id = -(
    SELECT n.new_id FROM (
        SELECT id AS old_id,
               seq * 8 + ROW_NUMBER() OVER (PARTITION BY seq ORDER BY account, {by_text}) - 1 AS new_id
        FROM accounts_ledgerentry
    ) AS n
    WHERE n.old_id = accounts_ledgerentry.id
)
"""


def renumber(apps, schema_editor):
    # Text in code-point order, as Python sorts it (SQLite's default; PostgreSQL's is the locale's).
    collate = ' COLLATE "C"' if schema_editor.connection.vendor == "postgresql" else ""
    by_text = f"asset{collate}, cause{collate}"
    with schema_editor.connection.cursor() as cur:
        cur.execute(RENUMBER.format(by_text=by_text))
        cur.execute("UPDATE accounts_ledgerentry SET id = -id")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_fill_keyed_by_seq"),
    ]

    operations = [
        migrations.RunPython(renumber, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="ledgerentry",
            name="ledger_unique_change",
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="id",
            field=models.BigIntegerField(
                help_text="seq * 8 + the entry's place among its event's entries", primary_key=True, serialize=False
            ),
        ),
    ]
