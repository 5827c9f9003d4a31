"""``python manage.py create_api_key <username> [--label L] [--json]``: a new API key pair.

The secret is printed once and never stored. With ``--json`` stdout carries exactly one JSON
object ``{"api_key": ..., "secret": ...}`` and nothing else, for scripts.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = "Create an Ed25519 API key for a user and print the API key and its secret (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--label", default="cli", help="a name for the key (default: cli)")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help='print only {"api_key": ..., "secret": ...}'
        )

    def handle(self, *args, username: str, label: str, as_json: bool, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        key, secret = services.create_api_key(user, label)
        if as_json:
            self.stdout.write(json.dumps({"api_key": key.public_key, "secret": secret}))
            return
        self.stdout.write(f"API key: {key.public_key}")
        self.stdout.write(f"Secret:  {secret}")
        self.stdout.write("Keep the secret now: it is not stored and cannot be shown again.")
