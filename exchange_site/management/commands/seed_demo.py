"""``python manage.py seed_demo``: demo assets, markets, users and funded balances. Idempotent."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from markets import services

ASSETS = [("SOL", "Solana", 9), ("BTC", "Bitcoin", 8), ("ETH", "Ether", 8), ("USDC", "USD Coin", 6)]
MARKETS = [
    # symbol, base, tick, step, max quantity
    ("SOL_USDC", "SOL", "0.01", "0.01", "1000000"),
    ("BTC_USDC", "BTC", "0.1", "0.00001", "10000"),
    ("ETH_USDC", "ETH", "0.01", "0.0001", "100000"),
]
FUNDS = {"SOL": "10000", "BTC": "100", "ETH": "1000", "USDC": "10000000"}
TRADERS = ["alice", "bob"]


def create_demo_markets() -> dict:
    """The demo assets and markets (maker 2 bps, taker 5 bps); idempotent. Returns the markets."""
    assets = {sym: services.ensure_asset(sym, name, dec) for sym, name, dec in ASSETS}
    return {
        symbol: services.ensure_market(
            symbol,
            assets[base],
            assets["USDC"],
            tick_size=tick,
            step_size=step,
            min_price=tick,
            max_price="1000000",
            min_quantity=step,
            max_quantity=max_qty,
            min_notional="0",
            maker_fee_bps=2,
            taker_fee_bps=5,
        )
        for symbol, base, tick, step, max_qty in MARKETS
    }


def wait_for_engine(seconds: float) -> bool:
    """Until the engine takes commands (up, and caught up with its log)."""
    from engine.client import engine_status

    deadline = time.monotonic() + seconds
    while not engine_status()[0]:  # Redis itself may still be starting: not yet, either
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
    return True


class Command(BaseCommand):
    help = "Create demo assets, markets, users (admin, alice, bob) and fund the traders through the engine."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=30, help="seconds to wait for the engine")

    def handle(self, *args, wait: float, **options):
        with transaction.atomic():
            create_demo_markets()
            users = self._users()
        if not wait_for_engine(wait):
            raise CommandError("the engine did not come up: demo balances not funded (run seed_demo again)")

        from accounts.services import DuplicateTransfer, deposit

        for name in TRADERS:
            for asset, amount in FUNDS.items():
                # A fixed tx id: the engine refuses a repeated one, so seeding never funds twice.
                try:
                    deposit(users[name], asset, amount, tx_id=f"seed_demo:{name}:{asset}")
                except DuplicateTransfer:
                    pass
        self.stdout.write(f"demo data ready: logins admin, alice, bob; password {settings.DEMO_PASSWORD!r}")

    def _users(self) -> dict:
        User = get_user_model()
        users = {}
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if created:
            admin.set_password(settings.DEMO_PASSWORD)
            admin.save()
        users["admin"] = admin
        for name in TRADERS:
            user, created = User.objects.get_or_create(
                username=name, defaults={"email": f"{name}@example.com"}
            )
            if created:
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
            users[name] = user
        return users
