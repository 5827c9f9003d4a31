"""Private REST routes (shared/API.md). One path can carry several operations (GET / POST /
DELETE ``/api/v1/order``); ``by_method`` routes each method to its own view, so every operation
keeps its own signing instruction and stays a thin view of its own."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

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

    # Which view serves which method, for the order entry path (accounts.api.fast), which
    # answers the hot routes' signed requests itself and finds their views here.
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
]
