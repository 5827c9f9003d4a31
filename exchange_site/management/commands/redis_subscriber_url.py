"""``python manage.py redis_subscriber_url``: where Go, Rust or Node programs subscribe."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from exchange_site import config

from .run_redis import require_embedded_redis


class Command(BaseCommand):
    help = (
        "Print the redis:// URL of the embedded Redis's subscriber user, who may only subscribe to the"
        " public market-data channels (trade.*, depth.*, ticker.*, bookTicker.*, kline.*)."
    )

    def handle(self, *args, **options):
        require_embedded_redis(
            "REDIS_URL is set: create a subscriber user on that Redis (README, 'Redis pub/sub') and give"
            " its URL to the subscribing programs"
        )
        self.stdout.write(config.embedded_redis_url(config.SUBSCRIBER_USER))
