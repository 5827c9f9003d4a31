"""The private API in the OpenAPI schema (``/api/schema``, shown at ``/api/docs``).

The private routes (``accounts.api.urls.by_method``) send each HTTP method of a path to a view of
its own, so that every operation keeps its own signing instruction. drf-spectacular only
enumerates views routed directly, so ``add_private_operations`` (a preprocessing hook, see
``SPECTACULAR_SETTINGS``) adds one endpoint per method. The views hand the wire's dicts from
services and selectors straight to the response, without serializers: the serializers below
exist only to describe those dicts, and the descriptions are attached to the views here, in one
place, with ``extend_schema_view``. Every operation lists the ``code`` values each of its error
statuses can carry, and its signing instruction as ``x-signing-instruction``.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from accounts import error_codes as codes
from accounts.services import MAX_BATCH_ORDERS
from accounts.signing import DEFAULT_WINDOW_MS, MAX_WINDOW_MS
from engine.client import MAINTENANCE

from . import account_views, views

UINT32_MAX = 2**32 - 1
DECIMAL_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
ORDER_STATUSES = [
    "New",
    "PartiallyFilled",
    "Filled",
    "Cancelled",
    "Expired",
    "TriggerPending",
    "TriggerFailed",
]
SIDES = ["Bid", "Ask"]
ORDER_TYPES = ["Limit", "Market"]
TIMES_IN_FORCE = ["GTC", "IOC", "FOK"]
STP_MODES = ["RejectTaker", "RejectMaker", "RejectBoth"]
TRANSFER_STATUSES = ["confirmed"]


# --- the route hook -------------------------------------------------------------------------


def _routes_by_method(patterns: list, prefix: str) -> Iterator[tuple[str, object]]:
    for pattern in patterns:
        regex = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes_by_method(pattern.url_patterns, regex)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "view_classes"):
            yield regex, pattern.callback


def add_private_operations(endpoints: list) -> list:
    """drf-spectacular preprocessing hook: one endpoint per method of each ``by_method`` route,
    with that method's own view."""
    enumerator = EndpointEnumerator()
    added = [
        (enumerator.get_path_from_regex(regex), regex, method, view_class.as_view())
        for regex, route in _routes_by_method(get_resolver().url_patterns, "")
        for method, view_class in route.view_classes.items()
    ]
    return [*endpoints, *added]


# --- authentication -------------------------------------------------------------------------

SIGNING = f"""\
Private requests are signed with an Ed25519 key pair. The API key is the base64 of the 32-byte
public key; the secret, shown once when the key is made, is the base64 of the 32-byte private seed.

`X-Signature` is the base64 of the 64-byte Ed25519 signature of the **signing string**:

    instruction=<instruction>&<k1>=<v1>&<k2>=<v2>&...&timestamp=<X-Timestamp>&window=<X-Window>

- `<instruction>` is the operation's (its `x-signing-instruction`, e.g. `orderExecute`);
- the `k=v` pairs are the request's parameters sorted by key: the query string of a GET, the
  top-level keys of the JSON body otherwise; values exactly as sent, booleans `true`/`false`;
- `window` is {DEFAULT_WINDOW_MS} when no `X-Window` header is sent;
- without parameters: `instruction=<instruction>&timestamp=<ts>&window=<window>`;
- a batch of orders (`POST /api/v1/orders`, a JSON array) signs each order as
  `instruction=orderExecute&<its sorted k=v>&`, concatenated, then `timestamp=<ts>&window=<window>`.

Example: cancelling `{{"symbol": "SOL_USDC", "orderId": "28"}}` at 1614550000000 signs
`instruction=orderCancel&orderId=28&symbol=SOL_USDC&timestamp=1614550000000&window=5000`.

A timestamp farther than the window from the server's clock, a bad signature or an unknown,
revoked or disabled key is refused with 401 (`INVALID_SIGNATURE` or `UNAUTHORIZED`) and changes
nothing. A logged-in browser may use its session cookie (and CSRF token) instead."""


class SignatureAuthenticationScheme(OpenApiAuthenticationExtension):
    """The four headers of a signed request, required together (``X-Window`` may be left out)."""

    target_class = "accounts.authentication.SignatureAuthentication"
    name = ["apiKey", "signature", "timestamp", "window"]

    def get_security_definition(self, auto_schema) -> list[dict]:
        def header(name: str, description: str) -> dict:
            return {"type": "apiKey", "in": "header", "name": name, "description": description}

        return [
            header("X-API-Key", "the API key: base64 of the Ed25519 public key"),
            header("X-Signature", SIGNING),
            header("X-Timestamp", "the request's time, integer milliseconds since the epoch"),
            header(
                "X-Window",
                f"how long the request is valid, in milliseconds: default {DEFAULT_WINDOW_MS}, "
                f"at most {MAX_WINDOW_MS}",
            ),
        ]

    def get_security_requirement(self, auto_schema) -> list[dict]:
        every = {scheme: [] for scheme in self.name}
        without_window = {scheme: [] for scheme in self.name if scheme != "window"}
        return [every, without_window]


# --- shapes (documentation only) ------------------------------------------------------------


def _decimal(help_text: str = "decimal string, plain notation", **kwargs) -> serializers.CharField:
    return serializers.CharField(help_text=help_text, **kwargs)


def _decimal_in(help_text: str, **kwargs) -> serializers.RegexField:
    """A decimal string a client sends (a JSON number with its exact text is accepted too)."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    return serializers.RegexField(DECIMAL_PATTERN, help_text=help_text, **kwargs)


# A map from asset to balance: a serializer describes fixed field names only.
BALANCES_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "available": {"type": "string", "description": "decimal string"},
            "locked": {"type": "string", "description": "held by open orders"},
            "staked": {"type": "string", "description": "always 0"},
        },
        "required": ["available", "locked", "staked"],
    },
}


class OrderSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the order id, digits")
    clientId = serializers.IntegerField(allow_null=True, help_text="uint32, as given when placed")
    createdAt = serializers.IntegerField(help_text="milliseconds since the epoch")
    symbol = serializers.CharField()
    side = serializers.ChoiceField(SIDES)
    orderType = serializers.ChoiceField(ORDER_TYPES)
    timeInForce = serializers.ChoiceField(TIMES_IN_FORCE)
    postOnly = serializers.BooleanField()
    reduceOnly = serializers.BooleanField(allow_null=True, help_text="always null (no futures)")
    price = _decimal("limit price; null for a market order", allow_null=True)
    quantity = _decimal("null for a market buy by quote amount", allow_null=True)
    quoteQuantity = _decimal("the quote budget of a market buy by quote amount", allow_null=True)
    executedQuantity = _decimal()
    executedQuoteQuantity = _decimal()
    status = serializers.ChoiceField(ORDER_STATUSES)
    selfTradePrevention = serializers.ChoiceField(STP_MODES)
    triggerPrice = _decimal("the trigger price of a trigger order, else null", allow_null=True)
    triggerQuantity = _decimal("the quantity a trigger order places, else null", allow_null=True)
    relatedOrderId = serializers.CharField(allow_null=True, help_text="always null")


class OrderHistorySerializer(OrderSerializer):
    createdAt = serializers.CharField(help_text="naive ISO 8601, UTC, milliseconds")


class BatchOrderPlacedSerializer(OrderSerializer):
    operation = serializers.ChoiceField(["Ok"])


class BatchOrderRefusedSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(["Err"])
    code = serializers.CharField(help_text="why the engine refused this order, e.g. INSUFFICIENT_FUNDS")
    message = serializers.CharField()


BATCH_RESULT = PolymorphicProxySerializer(
    component_name="BatchOrderResult",
    serializers={"Ok": BatchOrderPlacedSerializer, "Err": BatchOrderRefusedSerializer},
    resource_type_field_name="operation",
    many=True,
)


class FillSerializer(serializers.Serializer):
    tradeId = serializers.IntegerField()
    orderId = serializers.CharField()
    symbol = serializers.CharField()
    side = serializers.ChoiceField(SIDES)
    price = _decimal()
    quantity = _decimal()
    fee = _decimal("in feeSymbol, the quote asset")
    feeSymbol = serializers.CharField()
    isMaker = serializers.BooleanField()
    timestamp = serializers.CharField(help_text="naive ISO 8601, UTC, milliseconds")
    clientId = serializers.IntegerField(allow_null=True)


class DepositSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    createdAt = serializers.CharField(help_text="naive ISO 8601, UTC, milliseconds")
    quantity = _decimal()
    status = serializers.ChoiceField(TRANSFER_STATUSES)
    symbol = serializers.CharField()
    source = serializers.CharField(help_text="administrator: credited by the exchange's operator")
    toAddress = serializers.CharField(allow_null=True)
    fromAddress = serializers.CharField(allow_null=True)
    transactionHash = serializers.CharField(allow_null=True)
    identifier = serializers.CharField()


class WithdrawalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    createdAt = serializers.CharField(help_text="naive ISO 8601, UTC, milliseconds")
    quantity = _decimal()
    fee = _decimal("always 0")
    status = serializers.ChoiceField(TRANSFER_STATUSES)
    symbol = serializers.CharField()
    toAddress = serializers.CharField(allow_null=True, help_text="the address given, informational")
    blockchain = serializers.CharField(allow_null=True, help_text="the blockchain given, informational")
    transactionHash = serializers.CharField(allow_null=True)
    identifier = serializers.CharField()
    clientId = serializers.IntegerField(allow_null=True)


class AccountSerializer(serializers.Serializer):
    autoBorrowSettlements = serializers.BooleanField(help_text="always false (no borrowing)")
    autoLend = serializers.BooleanField(help_text="always false (no lending)")
    autoRealizePnl = serializers.BooleanField(help_text="always false (no futures)")
    autoRepayBorrows = serializers.BooleanField(help_text="always false (no borrowing)")
    borrowLimit = _decimal("always 0")
    futuresMakerFee = _decimal("always 0 (no futures markets)")
    futuresTakerFee = _decimal("always 0 (no futures markets)")
    leverageLimit = _decimal("always 1")
    limitOrders = serializers.IntegerField(
        help_text="how many open orders the account has (not pending a trigger)"
    )
    liquidating = serializers.BooleanField(help_text="always false")
    positionLimit = _decimal("always 0")
    spotMakerFee = _decimal("basis points ('2' is 0.02 %): the highest maker fee of any market")
    spotTakerFee = _decimal("basis points ('5' is 0.05 %): the highest taker fee of any market")
    triggerOrders = serializers.IntegerField(help_text="how many open orders are pending their trigger")


class MaxBorrowSerializer(serializers.Serializer):
    maxBorrowQuantity = _decimal("always 0")
    symbol = serializers.CharField()


class MaxOrderSerializer(serializers.Serializer):
    autoBorrow = serializers.BooleanField(allow_null=True)
    autoBorrowRepay = serializers.BooleanField(allow_null=True)
    autoLendRedeem = serializers.BooleanField(allow_null=True)
    reduceOnly = serializers.BooleanField(allow_null=True)
    maxOrderQuantity = _decimal("what the available balance pays for, at most the market's maximum")
    price = serializers.CharField(allow_null=True, help_text="the price asked about")
    side = serializers.ChoiceField(SIDES)
    symbol = serializers.CharField()


class MaxWithdrawalSerializer(serializers.Serializer):
    autoBorrow = serializers.BooleanField(allow_null=True)
    autoLendRedeem = serializers.BooleanField(allow_null=True)
    maxWithdrawalQuantity = _decimal("the available balance")
    symbol = serializers.CharField()


# Request bodies.


def _unset_flag() -> serializers.BooleanField:
    return serializers.BooleanField(
        required=False, allow_null=True, help_text="margin and futures only: accepted unset or false"
    )


def _unset_value() -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, help_text="not offered: accepted only null")


class OrderExecuteSerializer(serializers.Serializer):
    symbol = serializers.CharField(help_text="market, e.g. SOL_USDC")
    side = serializers.ChoiceField(SIDES)
    orderType = serializers.ChoiceField(ORDER_TYPES)
    quantity = _decimal_in(
        "in the base asset, on the market's step; a market buy may give quoteQuantity instead"
    )
    quoteQuantity = _decimal_in("market buy only: the quote amount to spend, fees included")
    price = _decimal_in("limit orders only, on the market's tick")
    triggerPrice = _decimal_in("makes a trigger order: placed when the last price reaches this")
    triggerQuantity = _decimal_in("the quantity a trigger order places (with triggerPrice)")
    clientId = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=UINT32_MAX,
        help_text="uint32, unique among the account's open orders; its digits as a string are accepted too",
    )
    timeInForce = serializers.ChoiceField(
        TIMES_IN_FORCE, required=False, allow_null=True, help_text="default GTC"
    )
    postOnly = serializers.BooleanField(required=False, allow_null=True, help_text="limit GTC only")
    selfTradePrevention = serializers.ChoiceField(
        STP_MODES, required=False, allow_null=True, help_text="default RejectTaker"
    )
    reduceOnly = _unset_flag()
    autoLend = _unset_flag()
    autoLendRedeem = _unset_flag()
    autoBorrow = _unset_flag()
    autoBorrowRepay = _unset_flag()
    brokerId = _unset_value()
    triggerBy = serializers.CharField(
        required=False, allow_null=True, help_text="LastPrice, the only trigger reference here, or absent"
    )
    stopLossTriggerPrice = _unset_value()
    stopLossLimitPrice = _unset_value()
    stopLossTriggerBy = _unset_value()
    takeProfitTriggerPrice = _unset_value()
    takeProfitLimitPrice = _unset_value()
    takeProfitTriggerBy = _unset_value()
    slippageTolerance = _unset_value()
    slippageToleranceType = _unset_value()


class OrderCancelSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    orderId = serializers.CharField(required=False, allow_null=True, help_text="give orderId or clientId")
    clientId = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=UINT32_MAX)


class OrderCancelAllSerializer(serializers.Serializer):
    symbol = serializers.CharField()


class WithdrawSerializer(serializers.Serializer):
    symbol = serializers.CharField(help_text="asset, e.g. USDC")
    quantity = _decimal_in("on the asset's decimals", required=True, allow_null=False)
    address = serializers.CharField(
        required=False, allow_null=True, help_text="informational: no blockchain here"
    )
    blockchain = serializers.CharField(required=False, allow_null=True, help_text="informational")
    clientId = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=UINT32_MAX)


class AccountUpdateSerializer(serializers.Serializer):
    autoBorrowSettlements = serializers.BooleanField(required=False, allow_null=True, help_text="only false")
    autoLend = serializers.BooleanField(required=False, allow_null=True, help_text="only false")
    autoRepayBorrows = serializers.BooleanField(required=False, allow_null=True, help_text="only false")
    leverageLimit = _decimal_in("only 1")


# --- errors -----------------------------------------------------------------------------------


def _error(description: str, *error_codes: str) -> OpenApiResponse:
    return OpenApiResponse(
        {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": list(error_codes)},
                "message": {"type": "string"},
            },
            "required": ["code", "message"],
        },
        description=f"{description}: {', '.join(error_codes)}",
    )


REQUEST = codes.INVALID_CLIENT_REQUEST
UNAUTHENTICATED = {
    401: _error(
        "not authenticated (no, unknown, revoked or disabled key; bad signature or timestamp)",
        codes.UNAUTHORIZED,
        codes.INVALID_SIGNATURE,
    ),
    429: _error("rate limited (with Retry-After)", codes.TOO_MANY_REQUESTS),
}
# Only a browser's session can miss its CSRF token; a signed request has none to miss.
CSRF = {403: _error("a browser session's change without its CSRF token", codes.UNAUTHORIZED)}
CACHE_DOWN = {503: _error("the account data cache (Redis) is unreachable", codes.SERVER_ERROR)}
ENGINE_DOWN = {
    503: _error(
        "the engine is down, starting or catching up, or unreachable: nothing was done (Retry-After)",
        MAINTENANCE,
        codes.SERVER_ERROR,
    ),
    504: _error("the engine did not answer in time: the outcome is unknown", codes.SERVER_ERROR),
}
ENGINE_ORDER_CODES = (
    codes.INVALID_ORDER,
    codes.INVALID_PRICE,
    codes.INVALID_QUANTITY,
    codes.INSUFFICIENT_FUNDS,
    codes.INVALID_MARKET,
    codes.TRADING_PAUSED,
)


def _bad(*error_codes: str) -> dict:
    return {400: _error("a request this operation refuses", REQUEST, *error_codes)}


# --- query parameters -------------------------------------------------------------------------


def _query(name: str, description: str, required: bool = False, **schema) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "string", **schema} if "type" not in schema else schema,
        OpenApiParameter.QUERY,
        required=required,
        description=description,
    )


def _integer(
    name: str, description: str, minimum: int = 0, maximum: int = views.MAX_INT64
) -> OpenApiParameter:
    return _query(name, description, type="integer", minimum=minimum, maximum=maximum)


SYMBOL = OpenApiParameter(
    "symbol",
    str,
    OpenApiParameter.QUERY,
    required=True,
    description="market",
    examples=[OpenApiExample("SOL_USDC", value="SOL_USDC")],
)
OPTIONAL_SYMBOL = _query("symbol", "only this market (optional)")
ORDER_ID = _query("orderId", "the order id", pattern=r"^[0-9]{1,19}$")
CLIENT_ID = _integer("clientId", "the client order id (uint32)", maximum=UINT32_MAX)
PAGE = [
    _integer("limit", "at most this many (default 100, at most 1000)", minimum=1, maximum=1000),
    _integer("offset", "skip this many of the newest (default 0)", maximum=views.MAX_OFFSET),
]
TIME_RANGE = [
    _integer("from", "from this time on, milliseconds since the epoch (inclusive)"),
    _integer("to", "before this time, milliseconds since the epoch"),
]


def _flag(name: str) -> OpenApiParameter:
    return _query(name, "margin only: accepted unset or false", type="boolean")


# --- operations -------------------------------------------------------------------------------


def _body(name: str, value: object) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


LIMIT_BUY = {
    "symbol": "SOL_USDC",
    "side": "Bid",
    "orderType": "Limit",
    "price": "100",
    "quantity": "1",
    "clientId": 31337,
}
LIMIT_BUY_EXAMPLE = _body("limit buy", LIMIT_BUY)
MARKET_BUY_EXAMPLE = _body(
    "market buy for 50 USDC",
    {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Market", "quoteQuantity": "50"},
)
TRIGGER_SELL_EXAMPLE = _body(
    "stop sell: a limit sell at 90 placed once the price reaches 95",
    {
        "symbol": "SOL_USDC",
        "side": "Ask",
        "orderType": "Limit",
        "price": "90",
        "triggerPrice": "95",
        "triggerQuantity": "1",
    },
)


def _operation(
    view_class: type,
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict,
    **kwargs,
):
    return extend_schema(
        operation_id=operation_id,
        tags=[tag],
        summary=summary,
        responses={**responses, **UNAUTHENTICATED},
        extensions={"x-signing-instruction": view_class.signing_instruction},
        **kwargs,
    )


def _document(view_class: type, method: str, *args, **kwargs) -> None:
    extend_schema_view(**{method: _operation(view_class, *args, **kwargs)})(view_class)


BALANCES = "Private: balances and transfers"
ORDERS = "Private: orders"
HISTORY = "Private: history"
ACCOUNT = "Private: account"
NONE_HERE = "Private: margin, futures, lending, RFQ (none here)"

EMPTY = OpenApiResponse(
    {"type": "array", "items": {"type": "object"}, "maxItems": 0},
    description="always empty on this spot-only exchange",
)

_document(
    views.CapitalView,
    "get",
    "getBalances",
    BALANCES,
    "Balances of every asset the account ever held",
    {
        200: OpenApiResponse(
            BALANCES_SCHEMA,
            description="by asset symbol",
            examples=[
                OpenApiExample(
                    "balances", value={"USDC": {"available": "799.9", "locked": "200.1", "staked": "0"}}
                )
            ],
        ),
        **_bad(),
        **CACHE_DOWN,
    },
)
_document(
    views.OrderQueryView,
    "get",
    "getOpenOrder",
    ORDERS,
    "One open order, by orderId or clientId",
    {
        200: OrderSerializer,
        **_bad(codes.INVALID_SYMBOL),
        404: _error("the account has no such open order", codes.RESOURCE_NOT_FOUND),
        **CACHE_DOWN,
    },
    parameters=[SYMBOL, ORDER_ID, CLIENT_ID],
)
_document(
    views.OrderExecuteView,
    "post",
    "executeOrder",
    ORDERS,
    "Place an order",
    {
        200: OpenApiResponse(OrderSerializer, description="the order as it stands after matching"),
        **_bad(codes.INVALID_SYMBOL, *ENGINE_ORDER_CODES),
        **CSRF,
        **ENGINE_DOWN,
    },
    request=OrderExecuteSerializer,
    examples=[LIMIT_BUY_EXAMPLE, MARKET_BUY_EXAMPLE, TRIGGER_SELL_EXAMPLE],
)
_document(
    views.OrderCancelView,
    "delete",
    "cancelOrder",
    ORDERS,
    "Cancel an open order, by orderId or clientId",
    {
        200: OpenApiResponse(OrderSerializer, description="the cancelled order"),
        **_bad(codes.INVALID_SYMBOL, codes.INVALID_MARKET, codes.TRADING_PAUSED),
        404: _error("the account has no such open order", codes.RESOURCE_NOT_FOUND),
        **CSRF,
        **ENGINE_DOWN,
    },
    request=OrderCancelSerializer,
    examples=[_body("by order id", {"symbol": "SOL_USDC", "orderId": "1"})],
)
_document(
    views.OpenOrdersView,
    "get",
    "getOpenOrders",
    ORDERS,
    "The account's open orders, oldest first",
    {200: OrderSerializer(many=True), **_bad(codes.INVALID_SYMBOL), **CACHE_DOWN},
    parameters=[OPTIONAL_SYMBOL],
)
_document(
    views.OrdersExecuteView,
    "post",
    "executeOrders",
    ORDERS,
    "Place up to 20 orders, in order",
    {
        200: OpenApiResponse(
            BATCH_RESULT,
            description='each order placed ("operation": "Ok") or refused by the engine ("Err")',
        ),
        **_bad(codes.INVALID_SYMBOL, codes.INVALID_ORDER, codes.INVALID_PRICE, codes.INVALID_QUANTITY),
        **CSRF,
        **ENGINE_DOWN,
    },
    # An array of executeOrder's body (a raw schema: a serializer cannot give its bounds).
    request={
        "application/json": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/OrderExecuteRequest"},
            "minItems": 1,
            "maxItems": MAX_BATCH_ORDERS,
        }
    },
    examples=[_body("two bids", [LIMIT_BUY, {**LIMIT_BUY, "price": "99", "clientId": 31338}])],
)
_document(
    views.OrdersCancelView,
    "delete",
    "cancelOpenOrders",
    ORDERS,
    "Cancel every open order of the account in a market",
    {
        200: OpenApiResponse(OrderSerializer(many=True), description="the cancelled orders (maybe none)"),
        **_bad(codes.INVALID_SYMBOL, codes.INVALID_MARKET, codes.TRADING_PAUSED),
        **CSRF,
        **ENGINE_DOWN,
    },
    request=OrderCancelAllSerializer,
    examples=[_body("one market", {"symbol": "SOL_USDC"})],
)
_document(
    views.OrderHistoryView,
    "get",
    "getOrderHistory",
    HISTORY,
    "Orders, open and closed, newest first",
    {200: OrderHistorySerializer(many=True), **_bad(codes.INVALID_SYMBOL), **CACHE_DOWN},
    parameters=[OPTIONAL_SYMBOL, ORDER_ID, *PAGE],
)
_document(
    views.FillHistoryView,
    "get",
    "getFills",
    HISTORY,
    "The account's fills, newest first",
    {200: FillSerializer(many=True), **_bad(codes.INVALID_SYMBOL), **CACHE_DOWN},
    parameters=[OPTIONAL_SYMBOL, ORDER_ID, *TIME_RANGE, *PAGE],
)
_document(
    views.DepositHistoryView,
    "get",
    "getDeposits",
    BALANCES,
    "Deposits, newest first",
    {200: DepositSerializer(many=True), **_bad()},
    parameters=[*TIME_RANGE, _integer("endTime", "the same as to"), *PAGE],
)
_document(
    views.WithdrawalHistoryView,
    "get",
    "getWithdrawals",
    BALANCES,
    "Withdrawals, newest first",
    {200: WithdrawalSerializer(many=True), **_bad()},
    parameters=[*TIME_RANGE, _integer("endTime", "the same as to"), *PAGE],
)
_document(
    views.WithdrawView,
    "post",
    "requestWithdrawal",
    BALANCES,
    "Withdraw from the available balance",
    {
        200: WithdrawalSerializer,
        **_bad(codes.INVALID_SYMBOL, codes.INVALID_QUANTITY, codes.INSUFFICIENT_FUNDS),
        **CSRF,
        **ENGINE_DOWN,
    },
    request=WithdrawSerializer,
    examples=[_body("10 USDC", {"symbol": "USDC", "quantity": "10"})],
)
extend_schema_view(post=extend_schema(exclude=True))(views.FaucetView)  # development only (DEBUG)

# The account, and Backpack's calls a spot-only exchange answers on purpose.
_document(
    account_views.AccountView,
    "get",
    "getAccount",
    ACCOUNT,
    "The account's settings, as a spot-only account has them",
    {200: AccountSerializer, **_bad(), **CACHE_DOWN},
)
_document(
    account_views.AccountUpdateView,
    "patch",
    "updateAccount",
    ACCOUNT,
    "Accepted only for the settings the account has (no lending or borrowing, leverage 1)",
    {
        200: OpenApiResponse(AccountSerializer, description="nothing changed: the account"),
        **_bad(),
        **CSRF,
        **CACHE_DOWN,
    },
    request=AccountUpdateSerializer,
    examples=[_body("what a spot account has", {"autoLend": False, "leverageLimit": "1"})],
)
_document(
    account_views.MaxBorrowView,
    "get",
    "getMaxBorrowQuantity",
    ACCOUNT,
    "Nothing can be borrowed",
    {200: MaxBorrowSerializer, **_bad(codes.INVALID_SYMBOL)},
    parameters=[_query("symbol", "asset, e.g. USDC", required=True)],
)
_document(
    account_views.MaxOrderView,
    "get",
    "getMaxOrderQuantity",
    ACCOUNT,
    "The largest order the available balance pays for",
    {200: MaxOrderSerializer, **_bad(codes.INVALID_SYMBOL, codes.INVALID_PRICE), **CACHE_DOWN},
    parameters=[
        SYMBOL,
        _query("side", "Bid or Ask", required=True, enum=SIDES),
        _query(
            "price",
            "a limit buy's price; without it a buy is a market buy on the book",
            pattern=DECIMAL_PATTERN,
        ),
        *(_flag(name) for name in ("reduceOnly", "autoBorrow", "autoBorrowRepay", "autoLendRedeem")),
    ],
)
_document(
    account_views.MaxWithdrawalView,
    "get",
    "getMaxWithdrawalQuantity",
    ACCOUNT,
    "The available balance of an asset",
    {200: MaxWithdrawalSerializer, **_bad(codes.INVALID_SYMBOL), **CACHE_DOWN},
    parameters=[
        _query("symbol", "asset, e.g. USDC", required=True),
        _flag("autoBorrow"),
        _flag("autoLendRedeem"),
    ],
)

_NONE_HELD = {
    account_views.BorrowLendPositionsView: ("getBorrowLendPositions", "Borrow and lend positions"),
    account_views.FuturesPositionsView: ("getOpenPositions", "Futures positions"),
    account_views.BorrowHistoryView: ("getBorrowHistory", "Borrow and lend history"),
    account_views.BorrowPositionHistoryView: ("getBorrowPositionHistory", "Borrow and lend position history"),
    account_views.InterestHistoryView: ("getInterestHistory", "Interest payments"),
    account_views.DustHistoryView: ("getDustHistory", "Dust conversions"),
    account_views.FundingHistoryView: ("getFundingPayments", "Funding payments"),
    account_views.PnlHistoryView: ("getPnlHistory", "Realized profit and loss of futures"),
    account_views.SettlementHistoryView: ("getSettlementHistory", "Settlements"),
    account_views.RfqHistoryView: ("getRfqHistory", "Requests for quotes"),
    account_views.QuoteHistoryView: ("getQuoteHistory", "Quotes"),
    account_views.StrategyHistoryView: ("getStrategyHistory", "Strategies"),
}
for _view, (_operation_id, _what) in _NONE_HELD.items():
    _document(
        _view, "get", _operation_id, NONE_HERE, f"{_what}: none here, always empty", {200: EMPTY, **_bad()}
    )

_NOT_OFFERED = {
    account_views.BorrowLendExecuteView: ("post", "executeBorrowLend"),
    account_views.ConvertDustView: ("post", "convertDust"),
    account_views.CollateralView: ("get", "getCollateral"),
    account_views.DepositAddressView: ("get", "getDepositAddress"),
    account_views.RfqSubmitView: ("post", "submitRfq"),
    account_views.QuoteAcceptView: ("post", "acceptQuote"),
    account_views.RfqRefreshView: ("post", "refreshRfq"),
    account_views.RfqCancelView: ("post", "cancelRfq"),
    account_views.QuoteSubmitView: ("post", "submitQuote"),
}
for _view, (_method, _operation_id) in _NOT_OFFERED.items():
    _document(
        _view,
        _method,
        _operation_id,
        NONE_HERE,
        f"Not offered: refused with 400 ({_view.refusal})",
        {400: _error(_view.refusal, REQUEST), **(CSRF if _method == "post" else {})},
        # Backpack's body is not read: the request is refused whatever it holds.
        **({"request": {"application/json": {"type": "object"}}} if _method == "post" else {}),
    )
