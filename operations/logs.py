"""Logs for machines: ``LOG_FORMAT=json`` writes every record as one JSON object per line, and an
access log line per HTTP request (``ACCESS_LOG``, on with JSON logs by default)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

access_log = logging.getLogger("exchange.access")

# What a record always has; anything else on it (``extra=``) is the caller's and goes out too.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class AccessLogMiddleware:
    """One line per HTTP request: method, path, status, duration, client address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        log_request(
            request.method, request.path, response.status_code, started, request.META.get("REMOTE_ADDR")
        )
        return response


def log_request(method: str, path: str, status: int, started: float, client: str | None) -> None:
    """The access log line of one request (``started``: its ``time.perf_counter()``)."""
    access_log.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "client": client,
        },
    )
