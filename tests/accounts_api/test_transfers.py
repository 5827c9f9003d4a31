"""Deposits and withdrawals through the engine: ``accounts.services`` and the ``deposit`` /
``withdraw`` management commands, which report the engine's answer."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import services
from exchange_site.api_errors import ApiError

pytestmark = pytest.mark.services


@pytest.fixture
def alice(engine_process, make_trader):
    return make_trader("alice")


def test_a_deposit_credits_the_available_balance_and_returns_the_deposit(alice):
    result = services.deposit(alice.user, "USDC", Decimal("250.5"), tx_id="bank-1")

    assert (result["symbol"], result["quantity"], result["status"], result["identifier"]) == (
        "USDC",
        "250.5",
        "confirmed",
        "bank-1",
    )
    assert alice.api.get("/api/v1/capital").json() == {
        "USDC": {"available": "250.5", "locked": "0", "staked": "0"}
    }


def test_a_repeated_tx_id_is_refused_as_a_duplicate_and_credits_nothing(alice):
    services.deposit(alice.user, "USDC", "10", tx_id="bank-2")

    with pytest.raises(services.DuplicateTransfer):
        services.deposit(alice.user, "USDC", "10", tx_id="bank-2")

    assert alice.api.get("/api/v1/capital").json()["USDC"]["available"] == "10"


@pytest.mark.parametrize(
    "amount, code",
    [
        ("0", "INVALID_QUANTITY"),
        ("-5", "INVALID_QUANTITY"),
        ("1e3", "INVALID_QUANTITY"),
        ("0.0000001", "INVALID_QUANTITY"),
        ("9223372036854.775808", "INVALID_QUANTITY"),
    ],
)
def test_a_bad_amount_is_refused_before_the_engine(alice, amount, code):
    with pytest.raises(ApiError) as refused:
        services.deposit(alice.user, "USDC", amount)

    assert refused.value.code == code
    assert alice.api.get("/api/v1/capital").json() == {}


def test_an_amount_finer_than_the_asset_says_so_in_plain_decimals(alice):
    with pytest.raises(ApiError) as refused:
        services.withdraw(alice.user, "USDC", "0.0000001")

    assert refused.value.message == "Invalid quantity: 0.0000001 is not a multiple of 0.000001"


def test_an_unknown_asset_is_invalid_symbol(alice):
    with pytest.raises(ApiError) as refused:
        services.deposit(alice.user, "DOGE", "1")

    assert refused.value.code == "INVALID_SYMBOL"


def test_a_withdrawal_debits_the_available_balance(alice):
    services.deposit(alice.user, "SOL", "5")

    result = services.withdraw(alice.user, "SOL", "1.25", tx_id="out-1")

    assert (result["symbol"], result["quantity"], result["identifier"]) == ("SOL", "1.25", "out-1")
    assert alice.api.get("/api/v1/capital").json() == {
        "SOL": {"available": "3.75", "locked": "0", "staked": "0"}
    }


def test_a_withdrawal_above_the_balance_is_insufficient_funds(alice):
    services.deposit(alice.user, "SOL", "1")

    with pytest.raises(ApiError) as refused:
        services.withdraw(alice.user, "SOL", "1.000000001")

    assert refused.value.code == "INSUFFICIENT_FUNDS"


def test_the_deposit_command_prints_the_engines_answer(alice):
    out = StringIO()

    call_command("deposit", "alice", "BTC", "0.5", "--tx-id", "cli-1", stdout=out)

    printed = json.loads(out.getvalue())
    assert (printed["symbol"], printed["quantity"], printed["identifier"]) == ("BTC", "0.5", "cli-1")
    assert alice.api.get("/api/v1/capital").json() == {
        "BTC": {"available": "0.5", "locked": "0", "staked": "0"}
    }


def test_the_withdraw_command_reports_a_refusal_as_an_error(alice):
    with pytest.raises(CommandError, match="INSUFFICIENT_FUNDS"):
        call_command("withdraw", "alice", "BTC", "1", stdout=StringIO())


def test_the_deposit_command_refuses_an_unknown_user(alice):
    with pytest.raises(CommandError, match="no such user"):
        call_command("deposit", "nobody", "BTC", "1", stdout=StringIO())


def test_a_withdrawal_of_a_symbol_with_a_nul_byte_is_invalid_symbol_not_a_server_error(alice, engine_calls):
    response = alice.api.post("/wapi/v1/capital/withdrawals", {"symbol": "USDC\x00", "quantity": "1"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_SYMBOL",
        "message": "Invalid symbol: 'USDC\\x00' is not an asset",
    }
    assert engine_calls == []
