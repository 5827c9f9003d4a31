"""``python manage.py deposit <username> <asset> <amount> [--tx-id ID]``: credit a user through
the engine and print the engine's answer (the deposit as JSON, or the refusal and exit 1)."""

from __future__ import annotations

from accounts import services

from ._transfer import TransferCommand


class Command(TransferCommand):
    help = "Deposit an amount of an asset to a user's account through the engine."
    kind = "deposit"
    transfer = staticmethod(services.deposit)
