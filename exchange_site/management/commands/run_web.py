"""Run the ASGI web server (HTTP API, UI and websockets) with uvicorn."""

from __future__ import annotations

import os
import shutil
import sys

from django.core.management.base import BaseCommand

from exchange_site import config, preflight
from streams.protocol import MAX_FRAME_CHARS


class Command(BaseCommand):
    help = "Serve exchange_site.asgi with uvicorn on HOST:PORT (default 127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "1")))

    def handle(self, *args, host: str, port: int, workers: int, **options):
        preflight.run_or_exit(
            preflight.check_database,
            preflight.check_migrated,
            lambda: preflight.check_redis(wait_s=15),
            lambda: preflight.check_port_free(host, port),
        )
        # The web processes share their metrics through files (prometheus-client's multiprocess
        # mode): a folder of this server's own, emptied at each start.
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            metrics_dir = config.VAR_DIR / "metrics" / str(port)
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "exchange_site.asgi:served_application",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--lifespan",
            "off",
            "--ws",
            "exchange_site.ws_protocol:FanOutWebSocketProtocol",
            "--ws-ping-interval",
            os.environ.get("WS_PING_INTERVAL_S", "20"),
            "--ws-ping-timeout",
            os.environ.get("WS_PING_TIMEOUT_S", "20"),
            # A frame too large to be a request is refused as it arrives (1009), not buffered
            # whole first (uvicorn's default allows 16 MiB): 4 bytes per character at most.
            "--ws-max-size",
            str(4 * MAX_FRAME_CHARS),
        ]
        os.execv(sys.executable, argv)
