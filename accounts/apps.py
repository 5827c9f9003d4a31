from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Every process announces the key and user changes it makes (a shell, a management
        # command, the admin), whether or not it ever authenticates a request.
        from . import key_cache  # noqa: F401 - connects its signal receivers
