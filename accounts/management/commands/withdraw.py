"""``python manage.py withdraw <username> <asset> <amount> [--tx-id ID]``: debit a user through
the engine and print the engine's answer (the withdrawal as JSON, or the refusal and exit 1)."""

from __future__ import annotations

from accounts import services

from ._transfer import TransferCommand


class Command(TransferCommand):
    help = "Withdraw an amount of an asset from a user's available balance through the engine."
    kind = "withdraw"
    transfer = staticmethod(services.withdraw)
