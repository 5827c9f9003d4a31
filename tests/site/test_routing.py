"""Site-wide routing rules of the wire contract."""

import json

import pytest
from django.test import Client

from contract.names import ACCEPTING_KEY, STATUS_KEY


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/v1/order/"),
        ("delete", "/api/v1/orders/"),
        ("get", "/wapi/v1/history/fills/"),
        ("get", "/api/v1/no-such-endpoint"),
        ("post", "/wapi/v1/capital/withdrawals/"),
        ("delete", "/wapi/v1/history/nope"),
        ("post", "/api/v1/markets/"),
    ],
)
def test_unknown_api_path_is_a_json_404_never_a_redirect_or_html(settings, method, path):
    settings.DEBUG = True
    client = Client(enforce_csrf_checks=True)  # as a real request meets the CSRF middleware
    if method == "get":
        response = client.get(path)
    else:
        response = getattr(client, method)(path, data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "RESOURCE_NOT_FOUND"


def test_status_is_ok_while_the_engine_takes_commands(client, redis_conn):
    redis_conn.set(ACCEPTING_KEY, "an engine")

    assert client.get("/api/v1/status").json() == {"status": "Ok", "message": None}


def test_status_is_maintenance_while_the_engine_is_down(client, redis_conn):
    assert client.get("/api/v1/status").json() == {
        "status": "Maintenance",
        "message": "the matching engine is down",
    }


def test_status_is_maintenance_while_the_engine_catches_up(client, redis_conn):
    redis_conn.set(STATUS_KEY, json.dumps({"stream_id": "1-0", "lag_ms": 12_500}))

    assert client.get("/api/v1/status").json() == {
        "status": "Maintenance",
        "message": "the matching engine is catching up (12.5 s behind)",
    }


def test_ping_is_plain_pong(client):
    response = client.get("/api/v1/ping")
    assert (response.content, response["Content-Type"]) == (b"pong", "text/plain")


def test_time_is_integer_milliseconds_as_plain_text(client):
    import time

    before = time.time_ns() // 1_000_000
    body = client.get("/api/v1/time").content.decode()
    after = time.time_ns() // 1_000_000
    assert before <= int(body) <= after


def test_unknown_page_outside_the_api_is_an_html_404(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_favicon_ico_redirects_to_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/favicon.svg")
