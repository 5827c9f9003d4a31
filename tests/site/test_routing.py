"""Site-wide routing rules of the wire contract."""

import pytest
from django.test import Client


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


def test_status_is_ok(client):
    assert client.get("/api/v1/status").json() == {"status": "Ok", "message": None}


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
