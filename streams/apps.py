from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"

    def ready(self) -> None:
        from streams import credentials  # noqa: F401 - connects its signal receivers
