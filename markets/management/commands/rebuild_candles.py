"""``python manage.py rebuild_candles [--market M] [--since T]``: recompute candles from trades.

Every bucket from the one containing ``--since`` on (all buckets without it) is deleted and
recomputed from the trades table, for every interval, in one transaction. ``--since`` is Unix
seconds (like the klines ``startTime``) or an ISO date/time, UTC when no zone is given. Live
workers may keep running: on PostgreSQL they wait for the rebuild to commit, then merge what
they were writing on top of it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from history import candles
from markets.models import Market


def parse_since(value: str) -> int:
    """``--since`` as ms since the epoch."""
    if value.isdigit():
        return int(value) * 1000
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r}: expected Unix seconds or an ISO date/time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1000


class Command(BaseCommand):
    help = "Recompute candles (every interval) from the trades table."

    def add_arguments(self, parser):
        parser.add_argument("--market", help="market symbol (default: every market)")
        parser.add_argument("--since", help="Unix seconds or ISO date/time (default: all history)")

    def handle(self, *args, market: str | None, since: str | None, **options):
        since_ms = parse_since(since) if since else None
        market_ids = None
        if market:
            try:
                market_ids = [Market.objects.get(symbol=market).pk]
            except Market.DoesNotExist:
                raise CommandError(f"no market {market!r}") from None
        with transaction.atomic():
            written = candles.rebuild(market_ids, since_ms)
        scope = market or "every market"
        frm = f" since {datetime.fromtimestamp(since_ms // 1000, UTC).isoformat()}" if since_ms else ""
        self.stdout.write(f"rebuilt {written} candles for {scope}{frm}")
