"""``python manage.py run_engine``: the one process that holds and changes trading state.

This is where the engine process is put together, so it lives in the project package, above
every layer it draws on: the engine itself (``engine.process``), the database's history for the
log check and the worker's tasks for the batches (``history``), and the reference data the
engine lacks (``markets.services``). The engine package imports none of them: they are handed
to it here, as ``exchange_site.asgi`` puts the web together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from exchange_site import preflight

log = logging.getLogger("engine")


def _refuse(message: str, code: int = 2) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


class Command(BaseCommand):
    help = "Run the matching engine: consume engine.commands from Redis, publish what happened."

    def handle(self, *args, **options):
        # Under a Procfile runner the embedded Redis may still be starting: give it a moment.
        wait_s = float(os.environ.get("PREFLIGHT_REDIS_WAIT_S", "15"))
        preflight.run_or_exit(
            preflight.check_database,
            preflight.check_migrated,
            lambda: preflight.check_redis(wait_s=wait_s),
            preflight.check_redis_durable,
        )

        from channels.layers import get_channel_layer

        from engine import client, commandlog, lease
        from engine.process import CONNECTION_ERRORS, EngineProcess
        from exchange_site.redis_client import get_redis, new_async_redis
        from history.outbox import outbox
        from history.state import database_history
        from history.tasks import announce, requeue_outbox
        from markets.services import missing_reference_commands

        sync = get_redis()
        box = outbox()
        # The lease before the first command is read: a second engine stops here.
        try:
            held = lease.acquire(sync, settings.ENGINE_LEASE_TTL_S, log=log)
        except lease.LeaseHeld as exc:
            _refuse(str(exc))
        log.info("engine lease taken: %s", held.token)

        async def main() -> None:
            conn = new_async_redis()
            process = EngineProcess(
                conn,
                get_channel_layer(),
                held,
                announce,
                settings.ENGINE_SNAPSHOT_DIR,
                snapshot_every_s=settings.ENGINE_SNAPSHOT_EVERY_S,
                snapshot_every_commands=settings.ENGINE_SNAPSHOT_EVERY_COMMANDS,
                max_lag_s=settings.ENGINE_MAX_BACKLOG_S,
                outbox_floor=lambda: box.floor(sync),
                requeue_outbox=requeue_outbox,
                outbox=box,
            )
            snapshot = process.load_snapshot()
            try:
                info = commandlog.check(
                    sync,
                    held,
                    snapshot.stream_id if snapshot else None,
                    snapshot.log_id if snapshot else None,
                    await asyncio.to_thread(database_history),
                )
            except commandlog.LogProblem as exc:
                lease.release(sync, held)
                _refuse(str(exc))
            process.log_id = info.id
            if snapshot is None:
                log.info("replaying the command log %s from its start", info.id)
            # Reference data lives in the database; whatever the engine lacks goes into the log.
            commands = await asyncio.to_thread(
                missing_reference_commands, set(process.engine.assets), set(process.engine.markets)
            )
            for command in commands:
                await asyncio.to_thread(client.append, command)
            # Batches whose task was lost with an engine or a worker that died.
            await asyncio.to_thread(requeue_outbox)
            process.install_signal_handlers(asyncio.get_running_loop())
            try:
                await process.run()
            except CONNECTION_ERRORS as exc:
                if not process.stopping.is_set():
                    raise
                # Redis stopped together with us (make run's Ctrl-C): a stop like a crash, the
                # next start replays the log after the newest snapshot.
                log.warning("Redis went away while the engine stopped (%s): no final snapshot", exc)
                return
            except lease.LeaseLost as exc:
                _refuse(f"the engine lost its lease, and stops without writing anything more: {exc}", code=3)
            finally:
                await conn.aclose()
            log.info("engine stopped cleanly")

        asyncio.run(main())
        # Shutdown is done; a second signal (Ctrl-C reaches the whole process group, then the
        # supervisor's SIGTERM) must not turn a clean exit into a kill.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
