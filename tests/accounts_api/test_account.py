"""Backpack's account object and its settings, as a spot-only exchange has them
(``GET``/``PATCH /api/v1/account``): no automatic lending or borrowing, leverage 1, fees in basis
points, and the counts of the account's open orders."""

from __future__ import annotations

import pytest

from contract import jsonfast, md_cache
from exchange_site.redis_client import get_redis
from markets.models import Asset

from .conftest import make_market

pytestmark = pytest.mark.django_db


def spot_account(**fields) -> dict:
    """The account object of a spot-only account with no open orders and no fees, but for
    ``fields``: nothing lent, borrowed, realised or liquidated automatically, no limit to borrow,
    no positions, no futures fees, leverage 1."""
    never = ["autoBorrowSettlements", "autoLend", "autoRealizePnl", "autoRepayBorrows", "liquidating"]
    zero = ["borrowLimit", "positionLimit", "futuresMakerFee", "futuresTakerFee"]
    return {
        **dict.fromkeys(never, False),
        **dict.fromkeys(zero, "0"),
        "leverageLimit": "1",
        "spotMakerFee": "0",
        "spotTakerFee": "0",
        "limitOrders": 0,
        "triggerOrders": 0,
        **fields,
    }


def test_the_account_of_a_spot_only_exchange_has_no_margin_and_its_fees_in_basis_points(alice, sol, usdc):
    make_market("SOL_USDC", sol, usdc, maker_fee_bps=2, taker_fee_bps=5)

    response = alice.api.get("/api/v1/account")

    assert response.status_code == 200
    assert response.json() == spot_account(spotMakerFee="2", spotTakerFee="5")


def test_with_fees_differing_by_market_the_account_shows_the_highest_of_each(alice, sol, usdc):
    btc = Asset.objects.create(symbol="BTC", display_name="Bitcoin", decimals=8)
    make_market("SOL_USDC", sol, usdc, maker_fee_bps=2, taker_fee_bps=5)
    make_market("BTC_USDC", btc, usdc, maker_fee_bps=10, taker_fee_bps=3)

    body = alice.api.get("/api/v1/account").json()

    assert (body["spotMakerFee"], body["spotTakerFee"]) == ("10", "5")


def _cache_open_orders(user, *statuses: str) -> None:
    """Open orders in the engine's cache as the engine writes them (what the API reads)."""
    orders = {
        str(i): jsonfast.dumps({"id": str(i), "symbol": "SOL_USDC", "status": status})
        for i, status in enumerate(statuses, 1)
    }
    get_redis().hset(md_cache.open_orders_key(user.pk), mapping=orders)


def test_open_orders_count_as_limit_orders_and_those_pending_a_trigger_as_trigger_orders(alice, sol_usdc):
    _cache_open_orders(alice.user, "New", "PartiallyFilled", "TriggerPending")

    body = alice.api.get("/api/v1/account").json()

    assert (body["limitOrders"], body["triggerOrders"]) == (2, 1)


def test_another_users_open_orders_are_not_counted(alice, bob, sol_usdc):
    _cache_open_orders(bob.user, "New")

    body = alice.api.get("/api/v1/account").json()

    assert (body["limitOrders"], body["triggerOrders"]) == (0, 0)


def test_the_account_needs_a_signed_request(client):
    response = client.get("/api/v1/account")

    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")


# --- PATCH: settings ------------------------------------------------------------------------------


def test_setting_the_values_a_spot_account_has_is_accepted_and_answers_the_account(alice, sol_usdc):
    body = {
        "autoBorrowSettlements": False,
        "autoLend": False,
        "autoRepayBorrows": False,
        "leverageLimit": "1",
    }

    response = alice.api.patch("/api/v1/account", body)

    assert response.status_code == 200
    assert response.json() == spot_account()


def test_settings_left_null_are_unset_and_accepted(alice, sol_usdc):
    response = alice.api.patch("/api/v1/account", {"autoLend": None, "leverageLimit": None})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"autoLend": True},
            "autoLend: borrowing and lending are not offered on this spot-only exchange; "
            "only false is accepted",
        ),
        (
            {"autoBorrowSettlements": True},
            "autoBorrowSettlements: borrowing and lending are not offered on this spot-only exchange; "
            "only false is accepted",
        ),
        (
            {"leverageLimit": "5"},
            "leverageLimit: margin trading is not offered on this spot-only exchange; "
            "the leverage limit is 1",
        ),
        ({"leverageLimit": "ten"}, "Invalid leverageLimit: 'ten' is not a decimal"),
        ({"autoRepayBorrows": "false"}, "Invalid autoRepayBorrows: expected a boolean"),
        ({"autoRealizePnl": False}, "Unknown field(s): autoRealizePnl"),
    ],
)
def test_a_setting_a_spot_account_cannot_have_is_refused(alice, sol_usdc, body, message):
    response = alice.api.patch("/api/v1/account", body)

    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_CLIENT_REQUEST", "message": message}


def test_a_leverage_limit_of_one_written_with_a_fraction_is_accepted(alice, sol_usdc):
    response = alice.api.patch("/api/v1/account", {"leverageLimit": "1.00"})

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/account/limits/borrow", "/api/v1/account/limits/withdrawal"])
def test_an_asset_symbol_with_a_nul_byte_is_invalid_symbol_not_a_server_error(alice, sol_usdc, path):
    response = alice.api.get(path, {"symbol": "USDC\x00"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_SYMBOL",
        "message": "Invalid symbol: 'USDC\\x00' is not an asset",
    }
