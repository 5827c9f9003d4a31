"""The project's Celery app for test workers, with a short broker visibility timeout: a message
taken by a worker that then died is handed out again once it is this old (the default is an
hour). Everything else, including task discovery, is ``exchange_site.celery``'s."""

import os

from exchange_site.celery import app

app.conf.broker_transport_options = {
    **(app.conf.broker_transport_options or {}),
    "visibility_timeout": float(os.environ.get("PERSIST_TEST_VISIBILITY_TIMEOUT", "2")),
}

__all__ = ["app"]
