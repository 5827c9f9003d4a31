"""Backpack's public data about futures, lending and blockchains, which a spot-only exchange
has none of: empty lists, with the parameters still checked as everywhere else."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

EMPTY = [
    ("/api/v1/markPrices", {}),
    ("/api/v1/markPrices", {"symbol": "SOL_USDC"}),
    ("/api/v1/openInterest", {}),
    ("/api/v1/openInterest", {"symbol": "SOL_USDC"}),
    ("/api/v1/fundingRates", {"symbol": "SOL_USDC", "limit": "10", "offset": "0"}),
    ("/api/v1/collateral", {}),
    ("/api/v1/borrowLend/markets", {}),
    ("/api/v1/borrowLend/markets/history", {"interval": "1d"}),
    ("/api/v1/wallets", {}),
]


@pytest.mark.parametrize(("path", "query"), EMPTY)
def test_futures_lending_and_blockchain_data_are_empty_lists(client, sol_usdc, path, query):
    response = client.get(path, query)

    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("path", ["/api/v1/markPrices", "/api/v1/openInterest", "/api/v1/fundingRates"])
def test_a_symbol_that_is_not_a_market_is_invalid_symbol(client, sol_usdc, path):
    response = client.get(path, {"symbol": "DOGE_USDC"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_SYMBOL",
        "message": "Invalid symbol: 'DOGE_USDC' is not a market",
    }


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/api/v1/fundingRates", {}, "Missing required parameter: symbol"),
        (
            "/api/v1/fundingRates",
            {"symbol": "SOL_USDC", "limit": "0"},
            "Invalid parameter limit: 0 is outside [1, 1000]",
        ),
        ("/api/v1/borrowLend/markets/history", {}, "Missing required parameter: interval"),
        (
            "/api/v1/borrowLend/markets/history",
            {"interval": "1h"},
            "Invalid parameter interval: must be one of 1d, 1w, 1month, 1year",
        ),
    ],
)
def test_a_bad_parameter_is_invalid_client_request(client, sol_usdc, path, query, message):
    response = client.get(path, query)

    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_CLIENT_REQUEST", "message": message}
