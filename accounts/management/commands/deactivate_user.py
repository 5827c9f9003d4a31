"""``python manage.py deactivate_user <username>``: take a user's access away."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = (
        "Deactivate a user: their API keys and sessions stop working, their private streams close, and"
        " their open orders are cancelled through the engine."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        done = services.deactivate_user(user)
        self.stdout.write(done.summary(user))
        if done.engine_error:
            raise SystemExit(1)
