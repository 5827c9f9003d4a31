"""The private REST API (shared/API.md, "Private REST"): one thin view per operation.

Each view names its signing instruction and hands the parsed request to ``accounts.services``
(changes, through the engine) or ``accounts.selectors`` (reads). Both authentication methods
work on every endpoint: an API key signature (programs) or the session cookie with its CSRF
token (the browser UI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import order_input
from history.models import Transfer
from markets import selectors as market_selectors

from .. import error_codes as errors
from .. import selectors, services
from ..authentication import SignatureAuthentication
from . import throttling
from .parsers import ExactJSONParser


class PrivateView(APIView):
    authentication_classes = [SignatureAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [ExactJSONParser]
    throttle_classes = [throttling.PrivateApiThrottle]
    signing_instruction: str | None = None

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except exceptions.Throttled:
            raise
        except exceptions.APIException:
            # Refused before the throttles ran (authentication, CSRF): it still counts against
            # the IP, so that a flood of bad signatures is limited as well.
            wait = throttling.count_ip(request)
            if wait is not None:
                self.throttled(request, wait)
            raise


# --- query-string helpers ----------------------------------------------------------------------


def _query(request, name: str) -> str | None:
    value = request.query_params.get(name)
    return None if value is None or value == "" else value


# A number a query compares with a BIGINT column (times in ms) must fit in one, and an OFFSET
# with its LIMIT added too: larger ones were a database error (500) instead of a 400.
MAX_INT64 = 2**63 - 1
MAX_OFFSET = 2**62


def _int_param(request, name: str, minimum: int = 0, maximum: int = MAX_INT64) -> int | None:
    value = _query(request, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise errors.bad_request(f"Invalid {name}: expected a non-negative integer")
    number = int(value)
    if not minimum <= number <= maximum:
        raise errors.bad_request(f"Invalid {name}: must be between {minimum} and {maximum}")
    return number


def _page(request) -> selectors.Page:
    limit = _int_param(request, "limit", 1, selectors.MAX_LIMIT)
    offset = _int_param(request, "offset", 0, MAX_OFFSET)
    return selectors.Page(limit=selectors.DEFAULT_LIMIT if limit is None else limit, offset=offset or 0)


def _market_param(request) -> str | None:
    """An optional ``symbol``, which must name a market: ``INVALID_SYMBOL`` otherwise, before a
    query sees it (a NUL byte in it was a database error, a 500)."""
    symbol = _query(request, "symbol")
    if symbol is not None:
        market_selectors.market_format(symbol)  # cached; refuses junk without a query
    return symbol


def _order_id_param(request) -> int | None:
    value = _query(request, "orderId")
    return None if value is None else order_input.parse_order_id(value)


def _body_to(service: Callable[[Any, Any], object]) -> Callable[[PrivateView, Request], Response]:
    """The handler of a change: the request's body goes to ``service`` as it is (the service
    validates it), and what the service returns is the answer."""

    def handle(view: PrivateView, request: Request) -> Response:
        return Response(service(request.user, request.data))

    return handle


# --- balances and orders ----------------------------------------------------------------------


class CapitalView(PrivateView):
    signing_instruction = "balanceQuery"

    def get(self, request):
        return Response(selectors.balances(request.user))


class OrderQueryView(PrivateView):
    signing_instruction = "orderQuery"

    def get(self, request):
        symbol = _query(request, "symbol")
        if symbol is None:
            raise errors.missing_field("symbol")
        market_selectors.market_format(symbol)  # INVALID_SYMBOL for an unknown market (cached)
        order_id = _order_id_param(request)
        client_id = _query(request, "clientId")
        client_id = None if client_id is None else order_input.parse_client_id(client_id)
        if order_id is None and client_id is None:
            raise errors.missing_field("orderId or clientId")
        return Response(selectors.open_order(request.user, symbol, order_id=order_id, client_id=client_id))


class OpenOrdersView(PrivateView):
    signing_instruction = "orderQueryAll"

    def get(self, request):
        return Response(selectors.open_orders(request.user, _market_param(request)))


class OrderExecuteView(PrivateView):
    signing_instruction = "orderExecute"
    post = _body_to(services.place_order)


class OrderCancelView(PrivateView):
    signing_instruction = "orderCancel"
    delete = _body_to(services.cancel_order)


class OrdersExecuteView(PrivateView):
    signing_instruction = "orderExecute"  # each order of the batch is signed with it
    post = _body_to(services.place_orders)


class OrdersCancelView(PrivateView):
    signing_instruction = "orderCancelAll"
    delete = _body_to(services.cancel_all)


# --- history -----------------------------------------------------------------------------------


class OrderHistoryView(PrivateView):
    signing_instruction = "orderHistoryQueryAll"

    def get(self, request):
        symbol, order_id, page = _market_param(request), _order_id_param(request), _page(request)
        return Response(selectors.order_history(request.user, page, symbol=symbol, order_id=order_id))


class FillHistoryView(PrivateView):
    signing_instruction = "fillHistoryQueryAll"

    def get(self, request):
        return Response(
            selectors.fill_history(
                request.user,
                _page(request),
                symbol=_market_param(request),
                order_id=_order_id_param(request),
                from_ms=_int_param(request, "from"),
                to_ms=_int_param(request, "to"),
            )
        )


def _to_ms(request) -> int | None:
    to = _int_param(request, "to")
    return _int_param(request, "endTime") if to is None else to


class TransferHistoryView(PrivateView):
    kind: str  # a Transfer.Kind

    def get(self, request):
        from_ms, to_ms = _int_param(request, "from"), _to_ms(request)
        return Response(
            selectors.transfer_history(request.user, self.kind, _page(request), from_ms=from_ms, to_ms=to_ms)
        )


class DepositHistoryView(TransferHistoryView):
    signing_instruction = "depositQueryAll"
    kind = Transfer.Kind.DEPOSIT


class WithdrawalHistoryView(TransferHistoryView):
    signing_instruction = "withdrawalQueryAll"
    kind = Transfer.Kind.WITHDRAWAL


class WithdrawView(PrivateView):
    signing_instruction = "withdraw"
    post = _body_to(services.request_withdrawal)


class FaucetView(PrivateView):
    """Development only (``DEBUG``): deposit test funds to the caller through the engine."""

    signing_instruction = "faucet"

    def initial(self, request, *args, **kwargs):
        # Checked at request time (not when the URLs load) and before authentication: with
        # DEBUG off the endpoint does not exist for anyone.
        if not settings.DEBUG:
            raise errors.not_found("The faucet exists only in development (DEBUG)")
        super().initial(request, *args, **kwargs)

    post = _body_to(services.faucet)
