"""Private REST routes (shared/API.md). One path can carry several operations (GET / POST /
DELETE ``/api/v1/order``); ``by_method`` routes each method to its own view, so every operation
keeps its own signing instruction and stays a thin view of its own."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.views import APIView

from .account_views import (
    AccountUpdateView,
    AccountView,
    BorrowHistoryView,
    BorrowLendExecuteView,
    BorrowLendPositionsView,
    BorrowPositionHistoryView,
    CollateralView,
    ConvertDustView,
    DepositAddressView,
    DustHistoryView,
    FundingHistoryView,
    FuturesPositionsView,
    InterestHistoryView,
    MaxBorrowView,
    MaxOrderView,
    MaxWithdrawalView,
    PnlHistoryView,
    QuoteAcceptView,
    QuoteHistoryView,
    QuoteSubmitView,
    RfqCancelView,
    RfqHistoryView,
    RfqRefreshView,
    RfqSubmitView,
    SettlementHistoryView,
    StrategyHistoryView,
)
from .views import (
    CapitalView,
    DepositHistoryView,
    FaucetView,
    FillHistoryView,
    OpenOrdersView,
    OrderCancelView,
    OrderExecuteView,
    OrderHistoryView,
    OrderQueryView,
    OrdersCancelView,
    OrdersExecuteView,
    WithdrawalHistoryView,
    WithdrawView,
)


def by_method(**view_classes):
    handlers = {method.upper(): cls.as_view() for method, cls in view_classes.items()}
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])
    allowed = ", ".join(sorted(handlers))

    # Exempt here because DRF views enforce CSRF themselves, only for session-authenticated
    # requests (SessionAuthentication); API-key requests carry no CSRF token.
    @csrf_exempt
    def dispatch(request, *args, **kwargs):
        handler = handlers.get(request.method)
        if handler is None:
            if request.method == "OPTIONS":
                handler = next(iter(handlers.values()))
            else:
                response = JsonResponse(
                    {"code": "INVALID_CLIENT_REQUEST", "message": f"Method {request.method} not allowed"},
                    status=405,
                )
                response["Allow"] = allowed
                return response
        return handler(request, *args, **kwargs)

    # Which view serves which method: for the OpenAPI schema, which lists one operation per
    # method (accounts.api.schema), and for the order entry path (accounts.api.fast), which
    # answers the hot routes' signed requests itself.
    dispatch.view_classes = {method.upper(): cls for method, cls in view_classes.items()}
    return dispatch


def route(url: str, name: str, **view_classes: type[APIView]) -> URLPattern:
    """A private route: each of its methods to its own view (``by_method``)."""
    return path(url, by_method(**view_classes), name=name)


urlpatterns = [
    route("api/v1/capital", "api-capital", get=CapitalView),
    route("api/v1/order", "api-order", get=OrderQueryView, post=OrderExecuteView, delete=OrderCancelView),
    route("api/v1/orders", "api-orders", get=OpenOrdersView, post=OrdersExecuteView, delete=OrdersCancelView),
    route("wapi/v1/history/orders", "api-order-history", get=OrderHistoryView),
    route("wapi/v1/history/fills", "api-fill-history", get=FillHistoryView),
    route("wapi/v1/capital/deposits", "api-deposits", get=DepositHistoryView),
    route("wapi/v1/capital/withdrawals", "api-withdrawals", get=WithdrawalHistoryView, post=WithdrawView),
    route("api/v1/dev/faucet", "api-dev-faucet", post=FaucetView),
    # Backpack's account, margin, futures, lending and RFQ calls, as a spot-only exchange
    # answers them (accounts.api.account_views).
    route("api/v1/account", "api-account", get=AccountView, patch=AccountUpdateView),
    route("api/v1/account/limits/borrow", "api-max-borrow", get=MaxBorrowView),
    route("api/v1/account/limits/order", "api-max-order", get=MaxOrderView),
    route("api/v1/account/limits/withdrawal", "api-max-withdrawal", get=MaxWithdrawalView),
    route("api/v1/account/convertDust", "api-convert-dust", post=ConvertDustView),
    route("api/v1/borrowLend/positions", "api-borrow-lend-positions", get=BorrowLendPositionsView),
    route("api/v1/borrowLend", "api-borrow-lend", post=BorrowLendExecuteView),
    route("api/v1/position", "api-positions", get=FuturesPositionsView),
    route("api/v1/capital/collateral", "api-collateral", get=CollateralView),
    route("wapi/v1/capital/deposit/address", "api-deposit-address", get=DepositAddressView),
    route("wapi/v1/history/borrowLend", "api-borrow-history", get=BorrowHistoryView),
    route(
        "wapi/v1/history/borrowLend/positions", "api-borrow-position-history", get=BorrowPositionHistoryView
    ),
    route("wapi/v1/history/interest", "api-interest-history", get=InterestHistoryView),
    route("wapi/v1/history/dust", "api-dust-history", get=DustHistoryView),
    route("wapi/v1/history/funding", "api-funding-history", get=FundingHistoryView),
    route("wapi/v1/history/pnl", "api-pnl-history", get=PnlHistoryView),
    route("wapi/v1/history/settlement", "api-settlement-history", get=SettlementHistoryView),
    route("wapi/v1/history/rfq", "api-rfq-history", get=RfqHistoryView),
    route("wapi/v1/history/quote", "api-quote-history", get=QuoteHistoryView),
    route("wapi/v1/history/strategies", "api-strategy-history", get=StrategyHistoryView),
    route("api/v1/rfq", "api-rfq", post=RfqSubmitView),
    route("api/v1/rfq/accept", "api-rfq-accept", post=QuoteAcceptView),
    route("api/v1/rfq/refresh", "api-rfq-refresh", post=RfqRefreshView),
    route("api/v1/rfq/cancel", "api-rfq-cancel", post=RfqCancelView),
    route("api/v1/rfq/quote", "api-rfq-quote", post=QuoteSubmitView),
]
