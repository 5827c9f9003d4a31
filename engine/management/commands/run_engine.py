"""``python manage.py run_engine``: the one process that holds and changes trading state."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from exchange_site import preflight

log = logging.getLogger("engine")


class Command(BaseCommand):
    help = "Run the matching engine: consume engine.commands from Redis, publish what happened."

    def handle(self, *args, **options):
        # Under a Procfile runner the embedded Redis may still be starting: give it a moment.
        wait_s = float(os.environ.get("PREFLIGHT_REDIS_WAIT_S", "15"))
        preflight.run_or_exit(
            preflight.check_database, preflight.check_migrated, lambda: preflight.check_redis(wait_s=wait_s)
        )

        import redis.exceptions
        from channels.layers import get_channel_layer

        from engine import client
        from engine.process import EngineProcess
        from engine.tasks import hand_over
        from exchange_site.redis_client import new_async_redis
        from markets.services import missing_reference_commands

        async def main() -> None:
            conn = new_async_redis()
            process = EngineProcess(
                conn,
                get_channel_layer(),
                hand_over,
                settings.ENGINE_SNAPSHOT_DIR,
                snapshot_every_s=settings.ENGINE_SNAPSHOT_EVERY_S,
                snapshot_every_commands=settings.ENGINE_SNAPSHOT_EVERY_COMMANDS,
            )
            process.load_snapshot()
            # Reference data lives in the database; whatever the engine lacks goes into the log.
            commands = await asyncio.to_thread(
                missing_reference_commands, set(process.engine.assets), set(process.engine.markets)
            )
            for command in commands:
                await asyncio.to_thread(client.append, command)
            process.install_signal_handlers(asyncio.get_running_loop())
            try:
                await process.run()
            except redis.exceptions.ConnectionError as exc:
                if process.stopping.is_set():  # Redis stopped together with us: a clean stop
                    return
                # Crash-only: state is rebuilt from the last snapshot and the command log.
                raise SystemExit(f"error: lost Redis at {settings.REDIS_URL}: {exc}") from None
            finally:
                await conn.aclose()
            log.info("engine stopped cleanly")

        asyncio.run(main())
        # Shutdown is done; a second signal (Ctrl-C reaches the whole process group, then the
        # supervisor's SIGTERM) must not turn a clean exit into a kill.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
