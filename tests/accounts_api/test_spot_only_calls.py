"""Backpack's private calls about futures, margin, lending, RFQs and blockchains, which a
spot-only exchange answers on purpose: an empty list for what the account never has, a 400
saying why for what cannot be done here; both only for a correctly signed request."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

NONE_HELD = [
    "/api/v1/borrowLend/positions",
    "/api/v1/position",
    "/wapi/v1/history/borrowLend",
    "/wapi/v1/history/borrowLend/positions",
    "/wapi/v1/history/interest",
    "/wapi/v1/history/dust",
    "/wapi/v1/history/funding",
    "/wapi/v1/history/pnl",
    "/wapi/v1/history/settlement",
    "/wapi/v1/history/rfq",
    "/wapi/v1/history/quote",
    "/wapi/v1/history/strategies",
]

RFQ = "Requests for quotes are not offered on this spot-only exchange"
NOT_OFFERED = [
    ("POST", "/api/v1/borrowLend", "Borrowing and lending are not offered on this spot-only exchange"),
    ("POST", "/api/v1/account/convertDust", "Dust conversion is not offered on this spot-only exchange"),
    (
        "GET",
        "/api/v1/capital/collateral",
        "There is no collateral on this spot-only exchange (no margin); balances are at /api/v1/capital",
    ),
    (
        "GET",
        "/wapi/v1/capital/deposit/address",
        "There are no deposit addresses: deposits are credited by the exchange's operator",
    ),
    ("POST", "/api/v1/rfq", RFQ),
    ("POST", "/api/v1/rfq/accept", RFQ),
    ("POST", "/api/v1/rfq/refresh", RFQ),
    ("POST", "/api/v1/rfq/cancel", RFQ),
    ("POST", "/api/v1/rfq/quote", RFQ),
]


@pytest.mark.parametrize("path", NONE_HELD)
def test_what_a_spot_account_never_has_is_an_empty_list(alice, path):
    response = alice.api.get(path)

    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("path", NONE_HELD)
def test_the_empty_lists_need_a_signed_request(client, path):
    response = client.get(path)

    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")


def _send(trader, method: str, path: str, **sign_options):
    if method == "GET":
        return trader.api.get(path, **sign_options)
    return trader.api.post(path, {"symbol": "SOL", "quantity": "1"}, **sign_options)


@pytest.mark.parametrize(("method", "path", "message"), NOT_OFFERED)
def test_what_cannot_be_done_here_is_refused_saying_why(alice, method, path, message):
    response = _send(alice, method, path)

    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_CLIENT_REQUEST", "message": message}


@pytest.mark.parametrize(("method", "path", "message"), NOT_OFFERED)
def test_a_refused_call_signed_too_long_ago_is_401_before_the_refusal(alice, method, path, message):
    response = _send(alice, method, path, timestamp=1_000)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")
