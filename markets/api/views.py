"""Public market-data REST endpoints (shared/API.md, "Public REST"). One view per operation.

Views parse parameters, call ``markets.selectors`` and set caching headers; the shapes come
from the selectors (cache, already wire-shaped) and ``markets.api.serializers`` (reference
data). Errors are ``ApiError``s rendered as ``{"code", "message"}`` by the project's handler.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.http import HttpResponse, QueryDict
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework.request import Request
from rest_framework.views import APIView

from contract import jsonfast
from contract.intervals import INTERVAL_NAMES
from markets import error_codes, selectors
from markets.api import params
from markets.api.serializers import (
    ApiErrorSerializer,
    AssetSerializer,
    DepthSerializer,
    KlineSerializer,
    MarketSerializer,
    PublicTradeSerializer,
    TickerSerializer,
    asset_object,
    market_object,
)

DEPTH_DEFAULT_LIMIT = 1000
DEPTH_MAX_LIMIT = 5000
TRADES_DEFAULT_LIMIT = 100
TRADES_MAX_LIMIT = 1000
HISTORY_MAX_OFFSET = 2**62  # stays inside a signed 64-bit OFFSET on every database
# Klines per response, the earliest from startTime: bounds the work of one request (a year of
# 1m candles is half a million rows) while a day of 1m candles (1,440) fits in one page; a
# client pages on by asking again from the last start.
KLINES_MAX = 5000
# 9999-12-31T23:59:59Z: the last second a calendar datetime (and a ms BIGINT) can hold.
MAX_TIME_S = 253_402_300_799

# Reference data changes rarely (a market is added, halted); a few seconds of staleness is
# harmless and lets clients and proxies that poll on load skip the request.
ASSETS_MAX_AGE_S = 60
MARKETS_MAX_AGE_S = 10

TAG = "Public market data"

_ERROR_400 = OpenApiResponse(ApiErrorSerializer, description="INVALID_SYMBOL or INVALID_CLIENT_REQUEST")
_ERROR_503 = OpenApiResponse(ApiErrorSerializer, description="SERVER_ERROR: market-data cache unreachable")


def _symbol_param(description: str = "market symbol, e.g. SOL_USDC") -> OpenApiParameter:
    return OpenApiParameter(
        "symbol",
        {"type": "string", "minLength": 1, "maxLength": 32, "pattern": selectors.SYMBOL_PATTERN},
        OpenApiParameter.QUERY,
        required=True,
        description=description,
        examples=[OpenApiExample("SOL_USDC", value="SOL_USDC")],
    )


def _int_param(
    name: str, minimum: int, maximum: int, description: str, required: bool = False
) -> OpenApiParameter:
    schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return OpenApiParameter(name, schema, OpenApiParameter.QUERY, required=required, description=description)


def _operation(operation_id: str, responses: dict, *parameters: OpenApiParameter) -> Callable:
    return extend_schema(
        operation_id=operation_id, tags=[TAG], parameters=list(parameters) or None, responses=responses
    )


def _json(body: bytes | list | dict) -> HttpResponse:
    """A JSON response from wire JSON bytes (the market-data cache's, passed through) or from
    data rendered with orjson: DRF's renderer (stdlib json) costs more than the view itself
    on a large book or a day of candles."""
    content = body if isinstance(body, bytes) else jsonfast.dumps(body)
    return HttpResponse(content, content_type="application/json")


def _public(response: HttpResponse, max_age: int) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=max_age)
    return response


def _live(response: HttpResponse) -> HttpResponse:
    # Live market data: a cached copy would be wrong by the next trade, and a stale depth
    # snapshot would make a depth-stream client sync to the wrong update id.
    patch_cache_control(response, no_store=True)
    return response


class AssetsView(APIView):
    @_operation("getAssets", {200: AssetSerializer(many=True)})
    def get(self, request: Request) -> HttpResponse:
        return _public(_json([asset_object(a) for a in selectors.list_assets()]), ASSETS_MAX_AGE_S)


class MarketsView(APIView):
    @_operation("getMarkets", {200: MarketSerializer(many=True)})
    def get(self, request: Request) -> HttpResponse:
        return _public(_json([market_object(m) for m in selectors.list_markets()]), MARKETS_MAX_AGE_S)


class MarketView(APIView):
    @_operation("getMarket", {200: MarketSerializer, 400: _ERROR_400}, _symbol_param())
    def get(self, request: Request) -> HttpResponse:
        market = selectors.get_market(params.required(request.query_params, "symbol"))
        return _public(_json(market_object(market)), MARKETS_MAX_AGE_S)


class SecuritiesView(APIView):
    @_operation(
        "getSecurities",
        {
            200: OpenApiResponse(
                {"type": "array", "items": {"type": "object"}, "maxItems": 0},
                description="always an empty array (no securities are listed)",
            )
        },
    )
    def get(self, request: Request) -> HttpResponse:
        # Exists because some Backpack clients call it while loading markets.
        return _public(_json([]), ASSETS_MAX_AGE_S)


class TickerView(APIView):
    @_operation("getTicker", {200: TickerSerializer, 400: _ERROR_400, 503: _ERROR_503}, _symbol_param())
    def get(self, request: Request) -> HttpResponse:
        return _live(_json(selectors.ticker_json(params.required(request.query_params, "symbol"))))


class TickersView(APIView):
    @_operation("getTickers", {200: TickerSerializer(many=True), 503: _ERROR_503})
    def get(self, request: Request) -> HttpResponse:
        return _live(_json(selectors.tickers_json()))


# A live read of a market's ``limit`` newest items in the market-data cache (depth levels a side,
# trades). No docstring: the schema would show it as the subclasses' description.
class NewestView(APIView):
    default_limit: int
    max_limit: int
    read: Callable[[str, int], bytes]

    def get(self, request: Request) -> HttpResponse:
        q = request.query_params
        symbol = params.required(q, "symbol")
        limit = params.integer(q, "limit", default=self.default_limit, minimum=1, maximum=self.max_limit)
        return _live(_json(self.read(symbol, limit)))


@extend_schema_view(
    get=_operation(
        "getDepth",
        {200: DepthSerializer, 400: _ERROR_400, 503: _ERROR_503},
        _symbol_param(),
        _int_param(
            "limit",
            1,
            DEPTH_MAX_LIMIT,
            f"levels per side from the best price (default {DEPTH_DEFAULT_LIMIT})",
        ),
    )
)
class DepthView(NewestView):
    default_limit, max_limit = DEPTH_DEFAULT_LIMIT, DEPTH_MAX_LIMIT
    read = staticmethod(selectors.depth_json)


@extend_schema_view(
    get=_operation(
        "getRecentTrades",
        {200: PublicTradeSerializer(many=True), 400: _ERROR_400, 503: _ERROR_503},
        _symbol_param(),
        _int_param("limit", 1, TRADES_MAX_LIMIT, f"default {TRADES_DEFAULT_LIMIT}"),
    )
)
class TradesView(NewestView):
    default_limit, max_limit = TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT
    read = staticmethod(selectors.recent_trades_json)


class KlinesView(APIView):
    @_operation(
        "getKlines",
        {
            200: OpenApiResponse(
                KlineSerializer(many=True),
                description=f"at most {KLINES_MAX} candles, the earliest; buckets without trades are omitted",
            ),
            400: _ERROR_400,
        },
        _symbol_param(),
        OpenApiParameter("interval", str, OpenApiParameter.QUERY, required=True, enum=list(INTERVAL_NAMES)),
        _int_param("startTime", 0, MAX_TIME_S, "seconds since the epoch, inclusive", required=True),
        _int_param("endTime", 0, MAX_TIME_S, "seconds since the epoch, exclusive (default: now)"),
    )
    def get(self, request: Request) -> HttpResponse:
        q = request.query_params
        symbol = params.required(q, "symbol")
        interval = params.required(q, "interval")
        start = params.required_integer(q, "startTime", minimum=0, maximum=MAX_TIME_S)
        end = params.integer(q, "endTime", default=None, minimum=0, maximum=MAX_TIME_S)
        return _live(_json(selectors.klines(symbol, interval, start, end, KLINES_MAX)))


class TradeHistoryView(APIView):
    @_operation(
        "getHistoricalTrades",
        {200: PublicTradeSerializer(many=True), 400: _ERROR_400},
        _symbol_param(),
        _int_param("limit", 1, TRADES_MAX_LIMIT, f"default {TRADES_DEFAULT_LIMIT}"),
        _int_param("offset", 0, HISTORY_MAX_OFFSET, "newest trades to skip (default 0)"),
    )
    def get(self, request: Request) -> HttpResponse:
        q = request.query_params
        symbol = params.required(q, "symbol")
        limit = params.integer(q, "limit", default=TRADES_DEFAULT_LIMIT, minimum=1, maximum=TRADES_MAX_LIMIT)
        offset = params.integer(q, "offset", default=0, minimum=0, maximum=HISTORY_MAX_OFFSET)
        return _live(_json(selectors.trade_history(symbol, limit, offset)))


# --- futures, lending and blockchains: none here ---------------------------------------------
# Backpack's public data about perpetual markets (mark prices, open interest, funding rates),
# lending markets, collateral parameters and blockchain wallets. A spot-only exchange has none of
# them, so each list is empty; they exist because Backpack clients call some of them while
# loading markets or on a timer. A symbol given must still name a market (INVALID_SYMBOL).

BEYOND_SPOT_TAG = "Public market data: futures and lending (none here)"
LENDING_HISTORY_INTERVALS = ["1d", "1w", "1month", "1year"]
FUNDING_RATES_MAX_LIMIT = 1000


def _optional_symbol_param() -> OpenApiParameter:
    return OpenApiParameter(
        "symbol",
        {"type": "string", "minLength": 1, "maxLength": 32, "pattern": selectors.SYMBOL_PATTERN},
        OpenApiParameter.QUERY,
        description="a market symbol (optional)",
    )


def _known_market_if_given(q: QueryDict) -> None:
    symbol = q.get("symbol")
    if symbol is not None:
        selectors.market_format(symbol)  # INVALID_SYMBOL for an unknown market


def _funding_rates_query(q: QueryDict) -> None:
    selectors.market_format(params.required(q, "symbol"))
    params.integer(q, "limit", default=None, minimum=1, maximum=FUNDING_RATES_MAX_LIMIT)
    params.integer(q, "offset", default=None, minimum=0, maximum=HISTORY_MAX_OFFSET)


def _lending_history_query(q: QueryDict) -> None:
    interval = params.required(q, "interval")
    if interval not in LENDING_HISTORY_INTERVALS:
        choices = ", ".join(LENDING_HISTORY_INTERVALS)
        raise error_codes.invalid_parameter("interval", f"must be one of {choices}")


def _none_here(
    operation_id: str,
    why: str,
    max_age: int,
    parameters: Sequence[OpenApiParameter] = (),
    check: Callable[[QueryDict], None] | None = None,
) -> type[APIView]:
    """The view of an endpoint for what this exchange does not have: ``check`` refuses the
    query Backpack would refuse (400), and the answer is an empty list."""
    responses = {
        200: OpenApiResponse({"type": "array", "items": {"type": "object"}, "maxItems": 0}, description=why)
    }
    if check is not None:
        responses[400] = _ERROR_400

    class NoneHere(APIView):
        @extend_schema(
            operation_id=operation_id,
            tags=[BEYOND_SPOT_TAG],
            parameters=list(parameters),
            responses=responses,
        )
        def get(self, request: Request) -> HttpResponse:
            if check is not None:
                check(request.query_params)
            return _public(_json([]), max_age)

    NoneHere.__name__ = NoneHere.__qualname__ = operation_id[3:] + "View"
    return NoneHere


NO_PERPETUALS = "always empty: no perpetual markets"
NO_LENDING = "always empty: no borrowing or lending"
MarkPricesView = _none_here(
    "getMarkPrices", NO_PERPETUALS, MARKETS_MAX_AGE_S, [_optional_symbol_param()], _known_market_if_given
)
OpenInterestView = _none_here(
    "getOpenInterest", NO_PERPETUALS, MARKETS_MAX_AGE_S, [_optional_symbol_param()], _known_market_if_given
)
FundingRatesView = _none_here(
    "getFundingIntervalRates",
    NO_PERPETUALS,
    MARKETS_MAX_AGE_S,
    [
        _symbol_param(),
        _int_param("limit", 1, FUNDING_RATES_MAX_LIMIT, "default 100"),
        _int_param("offset", 0, HISTORY_MAX_OFFSET, "default 0"),
    ],
    _funding_rates_query,
)
CollateralParametersView = _none_here(
    "getCollateralParameters", "always empty: no margin, so no asset is collateral", ASSETS_MAX_AGE_S
)
LendingMarketsView = _none_here("getBorrowLendMarkets", NO_LENDING, ASSETS_MAX_AGE_S)
LendingMarketHistoryView = _none_here(
    "getBorrowLendMarketHistory",
    NO_LENDING,
    ASSETS_MAX_AGE_S,
    [
        OpenApiParameter(
            "interval", str, OpenApiParameter.QUERY, required=True, enum=LENDING_HISTORY_INTERVALS
        ),
        OpenApiParameter("symbol", str, OpenApiParameter.QUERY, description="an asset (optional)"),
    ],
    _lending_history_query,
)
WalletsView = _none_here(
    "getWallets", "always empty: no blockchain wallets (the operator credits deposits)", ASSETS_MAX_AGE_S
)
