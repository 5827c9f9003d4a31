"""Private REST routes (shared/API.md). One path can carry several operations (GET / POST /
DELETE ``/api/v1/order``); ``by_method`` routes each method to its own view, so every operation
keeps its own signing instruction and stays a thin view of its own."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import account_views as account
from . import views


def by_method(**view_classes):
    handlers = {method.upper(): cls.as_view() for method, cls in view_classes.items()}
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])
    allowed = ", ".join(sorted(handlers))

    # Exempt here because DRF views enforce CSRF themselves, only for session-authenticated
    # requests (SessionAuthentication); API-key requests carry no CSRF token.
    @csrf_exempt
    def route(request, *args, **kwargs):
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
    route.view_classes = {method.upper(): cls for method, cls in view_classes.items()}
    return route


urlpatterns = [
    path("api/v1/capital", by_method(get=views.CapitalView), name="api-capital"),
    path(
        "api/v1/order",
        by_method(get=views.OrderQueryView, post=views.OrderExecuteView, delete=views.OrderCancelView),
        name="api-order",
    ),
    path(
        "api/v1/orders",
        by_method(get=views.OpenOrdersView, post=views.OrdersExecuteView, delete=views.OrdersCancelView),
        name="api-orders",
    ),
    path("wapi/v1/history/orders", by_method(get=views.OrderHistoryView), name="api-order-history"),
    path("wapi/v1/history/fills", by_method(get=views.FillHistoryView), name="api-fill-history"),
    path("wapi/v1/capital/deposits", by_method(get=views.DepositHistoryView), name="api-deposits"),
    path(
        "wapi/v1/capital/withdrawals",
        by_method(get=views.WithdrawalHistoryView, post=views.WithdrawView),
        name="api-withdrawals",
    ),
    path("api/v1/dev/faucet", by_method(post=views.FaucetView), name="api-dev-faucet"),
    # Backpack's account, margin, futures, lending and RFQ calls, as a spot-only exchange
    # answers them (accounts.api.account_views).
    path(
        "api/v1/account",
        by_method(get=account.AccountView, patch=account.AccountUpdateView),
        name="api-account",
    ),
    path("api/v1/account/limits/borrow", by_method(get=account.MaxBorrowView), name="api-max-borrow"),
    path("api/v1/account/limits/order", by_method(get=account.MaxOrderView), name="api-max-order"),
    path(
        "api/v1/account/limits/withdrawal",
        by_method(get=account.MaxWithdrawalView),
        name="api-max-withdrawal",
    ),
    path("api/v1/account/convertDust", by_method(post=account.ConvertDustView), name="api-convert-dust"),
    path(
        "api/v1/borrowLend/positions",
        by_method(get=account.BorrowLendPositionsView),
        name="api-borrow-lend-positions",
    ),
    path("api/v1/borrowLend", by_method(post=account.BorrowLendExecuteView), name="api-borrow-lend"),
    path("api/v1/position", by_method(get=account.FuturesPositionsView), name="api-positions"),
    path("api/v1/capital/collateral", by_method(get=account.CollateralView), name="api-collateral"),
    path(
        "wapi/v1/capital/deposit/address",
        by_method(get=account.DepositAddressView),
        name="api-deposit-address",
    ),
    path("wapi/v1/history/borrowLend", by_method(get=account.BorrowHistoryView), name="api-borrow-history"),
    path(
        "wapi/v1/history/borrowLend/positions",
        by_method(get=account.BorrowPositionHistoryView),
        name="api-borrow-position-history",
    ),
    path("wapi/v1/history/interest", by_method(get=account.InterestHistoryView), name="api-interest-history"),
    path("wapi/v1/history/dust", by_method(get=account.DustHistoryView), name="api-dust-history"),
    path("wapi/v1/history/funding", by_method(get=account.FundingHistoryView), name="api-funding-history"),
    path("wapi/v1/history/pnl", by_method(get=account.PnlHistoryView), name="api-pnl-history"),
    path(
        "wapi/v1/history/settlement",
        by_method(get=account.SettlementHistoryView),
        name="api-settlement-history",
    ),
    path("wapi/v1/history/rfq", by_method(get=account.RfqHistoryView), name="api-rfq-history"),
    path("wapi/v1/history/quote", by_method(get=account.QuoteHistoryView), name="api-quote-history"),
    path(
        "wapi/v1/history/strategies",
        by_method(get=account.StrategyHistoryView),
        name="api-strategy-history",
    ),
    path("api/v1/rfq", by_method(post=account.RfqSubmitView), name="api-rfq"),
    path("api/v1/rfq/accept", by_method(post=account.QuoteAcceptView), name="api-rfq-accept"),
    path("api/v1/rfq/refresh", by_method(post=account.RfqRefreshView), name="api-rfq-refresh"),
    path("api/v1/rfq/cancel", by_method(post=account.RfqCancelView), name="api-rfq-cancel"),
    path("api/v1/rfq/quote", by_method(post=account.QuoteSubmitView), name="api-rfq-quote"),
]
