import os

from celery import Celery
from kombu.serialization import register

from engine import jsonfast

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

# The engine hands over thousands of events per batch: orjson keeps that off its hot path.
register(
    "orjson", jsonfast.dumps, jsonfast.loads, content_type="application/x-orjson", content_encoding="binary"
)

app = Celery("exchange_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
