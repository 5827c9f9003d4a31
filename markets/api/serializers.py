"""Wire shapes of the public market-data API.

Rendering is plain functions (``asset_object``, ``market_object``): the hot endpoints return
dicts that are already wire-shaped, and a DRF serializer per row would only add cost. The
Serializer classes below are for the OpenAPI schema only (``extend_schema``), so the schema
documents exactly what the functions return.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework import serializers

from contract.wire import plain
from markets.models import Asset, Market


def naive_iso_ms(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.fff`` in UTC without a zone, as the contract's history fields."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def asset_object(asset: Asset) -> dict:
    # No on-chain tokens exist here; the contract allows an empty list.
    return {"symbol": asset.symbol, "displayName": asset.display_name, "tokens": []}


def market_object(market: Market) -> dict:
    """``market`` must have ``base`` and ``quote`` loaded (``select_related``)."""
    return {
        "symbol": market.symbol,
        "baseSymbol": market.base.symbol,
        "quoteSymbol": market.quote.symbol,
        "marketType": "SPOT",
        "orderBookState": market.state,
        "createdAt": naive_iso_ms(market.created_at),
        "filters": {
            "price": {
                "tickSize": plain(market.tick_size),
                "minPrice": plain(market.min_price),
                "maxPrice": plain(market.max_price),
            },
            "quantity": {
                "stepSize": plain(market.step_size),
                "minQuantity": plain(market.min_quantity),
                "maxQuantity": plain(market.max_quantity),
            },
        },
    }


# --- schema-only serializers ----------------------------------------------------------------


def _decimal(help_text: str = "decimal string, plain notation", **kwargs) -> serializers.CharField:
    return serializers.CharField(help_text=help_text, **kwargs)


class ApiErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="contract error code, e.g. INVALID_SYMBOL")
    message = serializers.CharField()


class AssetSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    displayName = serializers.CharField()
    tokens = serializers.ListField(child=serializers.DictField(), help_text="always empty here")


class PriceFilterSerializer(serializers.Serializer):
    tickSize = _decimal()
    minPrice = _decimal()
    maxPrice = _decimal()


class QuantityFilterSerializer(serializers.Serializer):
    stepSize = _decimal()
    minQuantity = _decimal()
    maxQuantity = _decimal()


class MarketFiltersSerializer(serializers.Serializer):
    price = PriceFilterSerializer()
    quantity = QuantityFilterSerializer()


class MarketSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    baseSymbol = serializers.CharField()
    quoteSymbol = serializers.CharField()
    marketType = serializers.ChoiceField(choices=["SPOT"])
    orderBookState = serializers.ChoiceField(choices=Market.State.values)
    createdAt = serializers.CharField(help_text="naive ISO 8601, UTC, milliseconds")
    filters = MarketFiltersSerializer()


class TickerSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    firstPrice = _decimal()
    lastPrice = _decimal()
    high = _decimal()
    low = _decimal()
    volume = _decimal("base quantity over 24 h")
    quoteVolume = _decimal("quote amount over 24 h")
    priceChange = _decimal()
    priceChangePercent = _decimal("a fraction: 0.0135 is 1.35 %")
    trades = serializers.CharField(help_text="number of trades over 24 h, as a string")


class DepthSerializer(serializers.Serializer):
    asks = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="[price, quantity] ascending by price: best ask first",
    )
    bids = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="[price, quantity] ascending by price: best bid last",
    )
    lastUpdateId = serializers.CharField(help_text="id of the last book change in this snapshot")
    timestamp = serializers.IntegerField(help_text="microseconds since the epoch")


class PublicTradeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="sequential per market")
    price = _decimal()
    quantity = _decimal()
    quoteQuantity = _decimal()
    timestamp = serializers.IntegerField(help_text="milliseconds since the epoch")
    isBuyerMaker = serializers.BooleanField()


class KlineSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="bucket open time, YYYY-MM-DD HH:MM:SS UTC")
    end = serializers.CharField(help_text="bucket close time (exclusive), YYYY-MM-DD HH:MM:SS UTC")
    open = _decimal(allow_null=True)
    high = _decimal(allow_null=True)
    low = _decimal(allow_null=True)
    close = _decimal(allow_null=True)
    volume = _decimal()
    quoteVolume = _decimal()
    trades = serializers.CharField(help_text="number of trades, as a string")
