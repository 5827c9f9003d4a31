"""Check the configuration before starting processes: one clear line per problem."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from exchange_site import config, preflight


class Command(BaseCommand):
    help = (
        "Check that the database and Redis are reachable, that Redis keeps what it acknowledges, and that"
        " the web port is free."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: int, host: str, **options):
        checks = [preflight.check_database, lambda: preflight.check_port_free(host, port)]
        if not config.redis_is_embedded():
            checks += [preflight.check_redis, preflight.check_redis_durable]
        preflight.run_or_exit(*checks)
