# Transfers keep the engine account id; the user link is empty for the fee account (0).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='transfer',
            name='account',
            field=models.BigIntegerField(default=0, help_text='engine account id (user id; 0 is the fee account)'),
            preserve_default=False,
        ),
        migrations.RunSQL(
            # Rows written before this migration: their account is their user.
            "UPDATE accounts_transfer SET account = user_id",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='transfer',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to=settings.AUTH_USER_MODEL),
        ),
    ]
