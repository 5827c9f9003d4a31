"""The project's Celery app for test workers. Their short broker visibility timeout (a message
taken by a worker that then died is handed out again once it is this old) comes from the
setting ``CELERY_VISIBILITY_TIMEOUT_S``, which the test fixture sets in the worker's
environment: assigning ``app.conf`` here would be overwritten when the Django settings load."""

from exchange_site.celery import app

__all__ = ["app"]
