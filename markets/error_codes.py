"""Error codes of the public market-data API, and the errors built from them.

The codes are the wire contract's (shared/API.md); a client decides what to do from ``code``,
so each failure mode maps to exactly one of them. The builders keep the messages uniform.
"""

from __future__ import annotations

from exchange_site.api_errors import ApiError

INVALID_SYMBOL = "INVALID_SYMBOL"
INVALID_CLIENT_REQUEST = "INVALID_CLIENT_REQUEST"
RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
SERVER_ERROR = "SERVER_ERROR"


def unknown_symbol(symbol: str) -> ApiError:
    return ApiError(INVALID_SYMBOL, f"Invalid symbol: {symbol[:40]!r} is not a market")


def missing_parameter(name: str) -> ApiError:
    return ApiError(INVALID_CLIENT_REQUEST, f"Missing required parameter: {name}")


def invalid_parameter(name: str, why: str) -> ApiError:
    return ApiError(INVALID_CLIENT_REQUEST, f"Invalid parameter {name}: {why}")


def market_data_unavailable() -> ApiError:
    # 503, not 500: the request was fine, the cache is unreachable for now; retrying helps.
    return ApiError(SERVER_ERROR, "Market data is temporarily unavailable", http_status=503)
