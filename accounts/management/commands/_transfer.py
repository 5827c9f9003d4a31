"""What the ``deposit`` and ``withdraw`` commands share: arguments, the engine call, the report."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exchange_site.api_errors import ApiError


class TransferCommand(BaseCommand):
    kind = ""  # "deposit" or "withdraw"
    # The service that moves the funds: (user, asset, amount, tx_id=...) -> the transfer object.
    transfer: Callable[..., dict]

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("asset", help="asset symbol, e.g. USDC")
        parser.add_argument("amount", help="decimal amount in plain notation, e.g. 250.5")
        parser.add_argument(
            "--tx-id", dest="tx_id", default=None, help="idempotency key (default: a new random id)"
        )

    def handle(self, *args, username: str, asset: str, amount: str, tx_id: str | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        try:
            result = self.transfer(user, asset, amount, tx_id=tx_id)
        except ApiError as exc:
            # The engine's (or the validation's) answer, as the API would give it.
            raise CommandError(f"{self.kind} refused: {exc.code}: {exc.message}") from None
        self.stdout.write(json.dumps(result))
