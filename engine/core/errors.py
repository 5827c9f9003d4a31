"""The API error codes the engine answers a rejected command with (``shared/API.md``), and the
limits its checks share."""

from __future__ import annotations

from typing import Final

__all__ = [
    "INVALID_CLIENT_REQUEST",
    "INVALID_ORDER",
    "INVALID_PRICE",
    "INVALID_QUANTITY",
    "INSUFFICIENT_FUNDS",
    "INVALID_MARKET",
    "RESOURCE_NOT_FOUND",
    "TRADING_PAUSED",
    "MAX_CLIENT_ID",
    "MAX_ASSET_DECIMALS",
]

INVALID_CLIENT_REQUEST: Final = "INVALID_CLIENT_REQUEST"
INVALID_ORDER: Final = "INVALID_ORDER"
INVALID_PRICE: Final = "INVALID_PRICE"
INVALID_QUANTITY: Final = "INVALID_QUANTITY"
INSUFFICIENT_FUNDS: Final = "INSUFFICIENT_FUNDS"
INVALID_MARKET: Final = "INVALID_MARKET"
RESOURCE_NOT_FOUND: Final = "RESOURCE_NOT_FOUND"
TRADING_PAUSED: Final = "TRADING_PAUSED"

MAX_CLIENT_ID: Final = 2**32 - 1
# A whole unit of an asset must fit the 64-bit amounts with room: 10**18 < 2**63.
MAX_ASSET_DECIMALS: Final = 18
