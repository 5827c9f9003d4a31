"""The OpenAPI schema at /api/schema describes the public market-data endpoints accurately,
and fuzzing them from it (schemathesis) finds no server error and no response off-schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

PUBLIC_OPERATIONS = [
    "getAssets",
    "getMarkets",
    "getMarket",
    "getSecurities",
    "getTicker",
    "getTickers",
    "getDepth",
    "getKlines",
    "getRecentTrades",
    "getHistoricalTrades",
    # Futures, lending and blockchains: empty lists on this spot-only exchange.
    "getMarkPrices",
    "getOpenInterest",
    "getFundingIntervalRates",
    "getCollateralParameters",
    "getBorrowLendMarkets",
    "getBorrowLendMarketHistory",
    "getWallets",
]


def operations(schema: dict) -> dict[str, dict]:
    return {op["operationId"]: op for item in schema["paths"].values() for op in item.values()}


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_has_every_public_market_data_operation_at_its_contract_path(schema):
    paths = {path: op["operationId"] for path, item in schema["paths"].items() for op in item.values()}

    assert {p: paths[p] for p in paths if paths[p] in PUBLIC_OPERATIONS} == {
        "/api/v1/assets": "getAssets",
        "/api/v1/markets": "getMarkets",
        "/api/v1/market": "getMarket",
        "/api/v1/securities": "getSecurities",
        "/api/v1/ticker": "getTicker",
        "/api/v1/tickers": "getTickers",
        "/api/v1/depth": "getDepth",
        "/api/v1/klines": "getKlines",
        "/api/v1/trades": "getRecentTrades",
        "/api/v1/trades/history": "getHistoricalTrades",
        "/api/v1/markPrices": "getMarkPrices",
        "/api/v1/openInterest": "getOpenInterest",
        "/api/v1/fundingRates": "getFundingIntervalRates",
        "/api/v1/collateral": "getCollateralParameters",
        "/api/v1/borrowLend/markets": "getBorrowLendMarkets",
        "/api/v1/borrowLend/markets/history": "getBorrowLendMarketHistory",
        "/api/v1/wallets": "getWallets",
    }


def test_the_schema_documents_each_operations_query_parameters_and_which_are_required(schema):
    ops = operations(schema)

    params = {
        op_id: sorted((p["name"], p.get("required", False)) for p in ops[op_id].get("parameters", []))
        for op_id in PUBLIC_OPERATIONS
    }

    assert params == {
        "getAssets": [],
        "getMarkets": [],
        "getMarket": [("symbol", True)],
        "getSecurities": [],
        "getTicker": [("symbol", True)],
        "getTickers": [],
        "getDepth": [("limit", False), ("symbol", True)],
        "getKlines": [("endTime", False), ("interval", True), ("startTime", True), ("symbol", True)],
        "getRecentTrades": [("limit", False), ("symbol", True)],
        "getHistoricalTrades": [("limit", False), ("offset", False), ("symbol", True)],
        "getMarkPrices": [("symbol", False)],
        "getOpenInterest": [("symbol", False)],
        "getFundingIntervalRates": [("limit", False), ("offset", False), ("symbol", True)],
        "getCollateralParameters": [],
        "getBorrowLendMarkets": [],
        "getBorrowLendMarketHistory": [("interval", True), ("symbol", False)],
        "getWallets": [],
    }


def test_the_schema_lists_every_contract_kline_interval(schema):
    interval = next(p for p in operations(schema)["getKlines"]["parameters"] if p["name"] == "interval")

    assert set(interval["schema"]["enum"]) == {
        "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1month",
    }  # fmt: skip


def test_the_schema_describes_the_depth_response_fields(schema):
    depth = schema["components"]["schemas"]["Depth"]

    assert (sorted(depth["properties"]), sorted(depth["required"])) == (
        ["asks", "bids", "lastUpdateId", "timestamp"],
        ["asks", "bids", "lastUpdateId", "timestamp"],
    )


def test_the_schema_describes_the_market_filters_as_strings(schema):
    components = schema["components"]["schemas"]

    assert {
        name: components["PriceFilter"]["properties"][name]["type"] for name in ("tickSize", "minPrice")
    } == {
        "tickSize": "string",
        "minPrice": "string",
    }


# --- fuzzing --------------------------------------------------------------------------------

api = schemathesis.openapi.from_wsgi("/api/schema", get_wsgi_application()).include(
    operation_id=PUBLIC_OPERATIONS
)


@pytest.fixture
def keep_test_transaction_open():
    """Serving a request through the raw WSGI app ends with ``request_finished``, which closes
    the database connection and with it the test's transaction; Django's test client avoids
    that the same way, by disconnecting ``close_old_connections`` for the request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@api.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_to_public_endpoints_get_no_server_error_and_match_the_schema(
    case, populated_exchange, keep_test_transaction_open
):
    # Every check but two. Unknown query parameters are ignored, as Backpack does, so
    # negative_data_rejection does not apply; a well-formed symbol that is not a market is a
    # 400 INVALID_SYMBOL by contract, so positive_data_acceptance does not either.
    case.call_and_validate(excluded_checks=[negative_data_rejection, positive_data_acceptance])
