"""Error bodies and paths: ``{"code", "message"}`` JSON always, no redirects, no HTML."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = [
    "/api/v1/assets",
    "/api/v1/markets",
    "/api/v1/market",
    "/api/v1/securities",
    "/api/v1/ticker",
    "/api/v1/tickers",
    "/api/v1/depth",
    "/api/v1/klines",
    "/api/v1/trades",
    "/api/v1/trades/history",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_a_trailing_slash_is_a_json_404_not_a_redirect(client, path):
    response = client.get(path + "/")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "RESOURCE_NOT_FOUND"


@override_settings(DEBUG=True)
def test_a_trailing_slash_is_a_json_404_even_with_debug_on(client):
    response = client.get("/api/v1/depth/?symbol=SOL_USDC")

    assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


def test_a_post_with_a_trailing_slash_is_a_json_404_not_a_redirect(client):
    response = client.post("/api/v1/markets/", data="{}", content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_a_post_to_a_public_endpoint_is_a_405_with_a_code(client, path):
    response = client.post(path, data="{}", content_type="application/json")

    assert response.status_code == 405
    assert response.json() == {"code": "INVALID_CLIENT_REQUEST", "message": 'Method "POST" not allowed.'}


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nope")

    assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize("path", ["/api/v1/market", "/api/v1/depth"])
def test_a_request_about_one_market_without_its_symbol_is_invalid_client_request(client, sol_usdc, path):
    response = client.get(path)

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_CLIENT_REQUEST",
        "message": "Missing required parameter: symbol",
    }


def test_a_symbol_with_a_nul_byte_is_invalid_symbol_not_a_database_error(client, sol_usdc):
    response = client.get("/api/v1/market", {"symbol": "SOL\x00USDC"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_a_very_long_symbol_is_invalid_symbol(client, sol_usdc):
    response = client.get("/api/v1/depth", {"symbol": "A" * 10_000})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")
