"""Error codes of the private API (shared/API.md) and the errors built from them.

A client decides what to do from ``code`` alone, so each failure mode maps to exactly one code:
authentication problems are 401 (``UNAUTHORIZED`` for a missing, unknown or revoked key,
``INVALID_SIGNATURE`` for a signature, timestamp or window that does not check out), malformed
requests are ``INVALID_CLIENT_REQUEST``, and order problems name the field that is wrong.
"""

from __future__ import annotations

from exchange_site.api_errors import ApiError

INVALID_CLIENT_REQUEST = "INVALID_CLIENT_REQUEST"
INVALID_ORDER = "INVALID_ORDER"
INVALID_PRICE = "INVALID_PRICE"
INVALID_QUANTITY = "INVALID_QUANTITY"
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
INVALID_SYMBOL = "INVALID_SYMBOL"
INVALID_MARKET = "INVALID_MARKET"
INVALID_SIGNATURE = "INVALID_SIGNATURE"
UNAUTHORIZED = "UNAUTHORIZED"
RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
TRADING_PAUSED = "TRADING_PAUSED"
SERVER_ERROR = "SERVER_ERROR"

# Engine rejections that are about a missing thing, not a bad request.
NOT_FOUND_CODES = frozenset({RESOURCE_NOT_FOUND})


def unauthorized(message: str) -> ApiError:
    return ApiError(UNAUTHORIZED, message, http_status=401)


def invalid_signature(message: str) -> ApiError:
    return ApiError(INVALID_SIGNATURE, message, http_status=401)


def bad_request(message: str) -> ApiError:
    return ApiError(INVALID_CLIENT_REQUEST, message)


def missing_field(name: str) -> ApiError:
    return ApiError(INVALID_CLIENT_REQUEST, f"Missing required field: {name}")


def unknown_fields(names: list[str]) -> ApiError:
    return ApiError(INVALID_CLIENT_REQUEST, f"Unknown field(s): {', '.join(sorted(names))}")


def wrong_type(name: str, expected: str) -> ApiError:
    return ApiError(INVALID_CLIENT_REQUEST, f"Invalid {name}: expected {expected}")


def invalid_order(message: str) -> ApiError:
    return ApiError(INVALID_ORDER, message)


def invalid_price(message: str) -> ApiError:
    return ApiError(INVALID_PRICE, message)


def unknown_symbol(symbol: object) -> ApiError:
    return ApiError(INVALID_SYMBOL, f"Invalid symbol: {symbol!r} is not a market")


def unknown_asset(symbol: object) -> ApiError:
    return ApiError(INVALID_SYMBOL, f"Invalid symbol: {symbol!r} is not an asset")


def not_found(message: str) -> ApiError:
    return ApiError(RESOURCE_NOT_FOUND, message, http_status=404)


def engine_rejected(code: str, message: str) -> ApiError:
    """The engine's ``Rejected`` event as an HTTP error: 404 for a missing order, else 400."""
    return ApiError(code, message, http_status=404 if code in NOT_FOUND_CODES else 400)
