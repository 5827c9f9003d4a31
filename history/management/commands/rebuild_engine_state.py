"""``python manage.py rebuild_engine_state``: the engine's state from the database."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from exchange_site import preflight
from exchange_site.management.commands.run_redis import embedded_redis_running
from history import services


class Command(BaseCommand):
    help = (
        "Rebuild the engine's state from the database at its newest checkpoint and write it as the"
        " snapshot the engine starts from; the engine then replays the command log from there."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--new-log",
            action="store_true",
            help="Redis lost the command log: start a new one (commands after the checkpoint are lost)",
        )

    def handle(self, *args, new_log: bool, **options):
        with embedded_redis_running(self.stdout.write):
            preflight.run_or_exit(
                preflight.check_database, preflight.check_migrated, lambda: preflight.check_redis(wait_s=15)
            )
            try:
                rebuilt = services.rebuild_engine_state(
                    settings.ENGINE_SNAPSHOT_DIR, new_log=new_log, lease_ttl_s=settings.ENGINE_LEASE_TTL_S
                )
            except services.RecoveryRefused as exc:
                self.stderr.write(f"error: {exc}")
                raise SystemExit(2) from None
        p = rebuilt.position
        self.stdout.write(
            f"rebuilt the engine's state at seq {p.seq} (stream id {p.stream_id}) from the database:"
            f" {rebuilt.accounts} accounts, {rebuilt.open_orders} open orders, written to {rebuilt.path}"
            + ("; a new command log starts there" if rebuilt.new_log else "")
            + ". Start the engine: it replays the command log from there."
        )
