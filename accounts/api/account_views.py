"""The rest of Backpack's private API, as a spot-only exchange answers it (see the README's
"Private REST API notes" for the list and the reasons).

- The account object, its settings and its limits (``accounts.account_info``).
- What the account has none of (futures positions, loans, funding payments, RFQs...): an empty
  list, so that a client which reads them at start-up or on a timer carries on.
- What cannot be done here (borrowing, lending, RFQs, dust conversion, collateral, deposit
  addresses): refused with 400 ``INVALID_CLIENT_REQUEST`` and a message saying why, after the
  request's signature is checked like any other.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from .. import account_info
from .. import error_codes as errors
from .views import PrivateView


def _text(request: Request, name: str, required: bool = False) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        if required:
            raise errors.missing_field(name)
        return None
    return value


def _flag(request: Request, name: str) -> bool | None:
    value = _text(request, name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise errors.bad_request(f"Invalid {name}: expected true or false")
    return value == "true"


# --- the account ---------------------------------------------------------------------------------


class AccountView(PrivateView):
    signing_instruction = "accountQuery"

    def get(self, request: Request) -> Response:
        return Response(account_info.account_object(request.user))


class AccountUpdateView(PrivateView):
    signing_instruction = "accountUpdate"

    def patch(self, request: Request) -> Response:
        return Response(account_info.update_account(request.user, request.data))


class MaxBorrowView(PrivateView):
    signing_instruction = "maxBorrowQuantity"

    def get(self, request: Request) -> Response:
        return Response(account_info.max_borrow(_text(request, "symbol", required=True)))


class MaxOrderView(PrivateView):
    signing_instruction = "maxOrderQuantity"

    def get(self, request: Request) -> Response:
        flags = {name: _flag(request, name) for name in account_info.ORDER_MARGIN_FLAGS}
        return Response(
            account_info.max_order(
                request.user,
                _text(request, "symbol", required=True),
                _text(request, "side", required=True),
                _text(request, "price"),
                flags,
            )
        )


class MaxWithdrawalView(PrivateView):
    signing_instruction = "maxWithdrawalQuantity"

    def get(self, request: Request) -> Response:
        return Response(
            account_info.max_withdrawal(
                request.user,
                _text(request, "symbol", required=True),
                _flag(request, "autoBorrow"),
                _flag(request, "autoLendRedeem"),
            )
        )


# --- what the account has none of ----------------------------------------------------------------


class NoneHeldView(PrivateView):
    """A list of things that never exist on a spot-only exchange: always empty."""

    def get(self, request: Request) -> Response:
        return Response([])


class BorrowLendPositionsView(NoneHeldView):
    signing_instruction = "borrowLendPositionQuery"


class FuturesPositionsView(NoneHeldView):
    signing_instruction = "positionQuery"


class BorrowHistoryView(NoneHeldView):
    signing_instruction = "borrowHistoryQueryAll"


class BorrowPositionHistoryView(NoneHeldView):
    signing_instruction = "borrowPositionHistoryQueryAll"


class InterestHistoryView(NoneHeldView):
    signing_instruction = "interestHistoryQueryAll"


class DustHistoryView(NoneHeldView):
    signing_instruction = "dustHistoryQueryAll"


class FundingHistoryView(NoneHeldView):
    signing_instruction = "fundingHistoryQueryAll"


class PnlHistoryView(NoneHeldView):
    signing_instruction = "pnlHistoryQueryAll"


class SettlementHistoryView(NoneHeldView):
    signing_instruction = "settlementHistoryQueryAll"


class RfqHistoryView(NoneHeldView):
    signing_instruction = "rfqHistoryQueryAll"


class QuoteHistoryView(NoneHeldView):
    signing_instruction = "quoteHistoryQueryAll"


class StrategyHistoryView(NoneHeldView):
    signing_instruction = "strategyHistoryQueryAll"


# --- what cannot be done here ---------------------------------------------------------------------


class NotOfferedView(PrivateView):
    """An operation this exchange does not have: refused, saying why, once the request is
    authenticated (a client with a bad key learns that first, as from any endpoint)."""

    refusal = ""

    def refuse(self, request: Request) -> Response:
        raise errors.bad_request(self.refusal)

    get = post = refuse


class BorrowLendExecuteView(NotOfferedView):
    signing_instruction = "borrowLendExecute"
    refusal = "Borrowing and lending are not offered on this spot-only exchange"


class ConvertDustView(NotOfferedView):
    signing_instruction = "convertDust"
    refusal = "Dust conversion is not offered on this spot-only exchange"


class CollateralView(NotOfferedView):
    signing_instruction = "collateralQuery"
    refusal = "There is no collateral on this spot-only exchange (no margin); balances are at /api/v1/capital"


class DepositAddressView(NotOfferedView):
    signing_instruction = "depositAddressQuery"
    refusal = "There are no deposit addresses: deposits are credited by the exchange's operator"


class RfqView(NotOfferedView):
    refusal = "Requests for quotes are not offered on this spot-only exchange"


class RfqSubmitView(RfqView):
    signing_instruction = "rfqSubmit"


class QuoteAcceptView(RfqView):
    signing_instruction = "quoteAccept"


class RfqRefreshView(RfqView):
    signing_instruction = "rfqRefresh"


class RfqCancelView(RfqView):
    signing_instruction = "rfqCancel"


class QuoteSubmitView(RfqView):
    signing_instruction = "quoteSubmit"
