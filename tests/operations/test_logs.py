"""``LOG_FORMAT=json``: one JSON object per log line, and an access log line per request."""

from __future__ import annotations

import json
import logging

import pytest

from operations.logs import JsonFormatter
from tests.conftest import run_manage


def test_a_record_is_one_json_object_with_its_extra_fields():
    record = logging.makeLogRecord(
        {"name": "engine", "levelname": "WARNING", "msg": "lost Redis (%s)", "args": ("gone",), "seq": 7}
    )

    line = JsonFormatter().format(record)

    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"], entry["seq"]) == (
        "WARNING",
        "engine",
        "lost Redis (gone)",
        7,
    )
    assert entry["time"].endswith("+00:00")


@pytest.mark.django_db
def test_every_request_gets_an_access_log_line(client, settings, caplog):
    settings.MIDDLEWARE = ["operations.logs.AccessLogMiddleware", *settings.MIDDLEWARE]

    with caplog.at_level(logging.INFO, logger="exchange.access"):
        client.get("/livez")

    [record] = [r for r in caplog.records if r.name == "exchange.access"]
    assert (record.getMessage(), record.method, record.path, record.status) == (
        "GET /livez 200",
        "GET",
        "/livez",
        200,
    )
    assert record.duration_ms >= 0


def test_the_processes_log_json_when_asked(tmp_path):
    script = "import logging; logging.getLogger('engine').info('ready', extra={'stream_id': '1-0'})"

    done = run_manage("shell", "-c", script, LOG_FORMAT="json")

    entry = json.loads(done.stderr.strip().splitlines()[-1])
    assert (entry["logger"], entry["message"], entry["stream_id"]) == ("engine", "ready", "1-0")
