"""``python manage.py reconcile``: the engine's state against the database's."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from exchange_site import preflight
from history import services


class Command(BaseCommand):
    help = (
        "Compare the engine's balances, locks and open orders (its newest snapshot the database has"
        " caught up with) with the database's at the same seq, and every asset's total with its"
        " deposits minus withdrawals; exit 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=0.0,
            help="seconds to wait for the database to catch up with a snapshot",
        )

    def handle(self, *args, wait: float, **options):
        preflight.run_or_exit(preflight.check_database, preflight.check_migrated)
        result = services.reconcile(settings.ENGINE_SNAPSHOT_DIR, wait_s=wait)
        for difference in result.differences:
            self.stdout.write(difference)
        self.stdout.write(result.summary())
        if result.differences:
            raise SystemExit(1)
