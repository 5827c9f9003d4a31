"""History endpoints read the rows the persistence workers write (inserted directly here), with
``limit``/``offset`` pagination, newest first, and only the caller's own rows."""

from __future__ import annotations

import pytest

from history.models import Fill, Order, Transfer

pytestmark = pytest.mark.django_db

T0 = 1_752_900_000_000  # 2025-07-19T04:40:00.000 UTC


def make_order(user, market, order_id: int, created_ts: int, **fields) -> Order:
    values = {
        "side": "Bid",
        "order_type": "Limit",
        "time_in_force": "GTC",
        "self_trade_prevention": "RejectTaker",
        "price": 14055,  # ticks of 0.01
        "quantity": 150,  # lots of 0.01
        "status": "New",
        "last_seq": order_id,
    }
    values.update(fields)
    return Order.objects.create(order_id=order_id, user=user, market=market, created_ts=created_ts, **values)


def make_fill(user, market, seq: int, ts: int, **fields) -> Fill:
    values = {
        "order_id": 1,
        "trade_id": seq,
        "side": "Bid",
        "price": 14055,
        "quantity": 150,
        "quote_quantity": 210_825_000,
        "fee": 105_412,
        "fee_asset": "USDC",
        "is_maker": False,
    }
    values.update(fields)
    return Fill.objects.create(seq=seq, user=user, market=market, ts=ts, **values)


def test_order_history_renders_orders_with_a_naive_iso_created_at(alice, sol_usdc):
    make_order(
        alice.user,
        sol_usdc,
        11,
        T0,
        client_id=3,
        executed_quantity=50,
        executed_quote_quantity=70_275_000,
        status="PartiallyFilled",
    )

    response = alice.api.get("/wapi/v1/history/orders")

    assert response.json() == [
        {
            "id": "11",
            "clientId": 3,
            "createdAt": "2025-07-19T04:40:00.000",
            "symbol": "SOL_USDC",
            "side": "Bid",
            "orderType": "Limit",
            "timeInForce": "GTC",
            "postOnly": False,
            "reduceOnly": None,
            "price": "140.55",
            "quantity": "1.5",
            "quoteQuantity": None,
            "executedQuantity": "0.5",
            "executedQuoteQuantity": "70.275",
            "status": "PartiallyFilled",
            "selfTradePrevention": "RejectTaker",
            "triggerPrice": None,
            "triggerQuantity": None,
            "relatedOrderId": None,
        }
    ]


def test_order_history_is_newest_first_and_paginated(alice, sol_usdc):
    for i in range(5):
        make_order(alice.user, sol_usdc, 100 + i, T0 + i * 1000)

    first_page = alice.api.get("/wapi/v1/history/orders", {"limit": 2})
    second_page = alice.api.get("/wapi/v1/history/orders", {"limit": 2, "offset": 2})

    assert [o["id"] for o in first_page.json()] == ["104", "103"]
    assert [o["id"] for o in second_page.json()] == ["102", "101"]


def test_order_history_filters_by_symbol_and_order_id(alice, sol_usdc):
    make_order(alice.user, sol_usdc, 1, T0)
    make_order(alice.user, sol_usdc, 2, T0 + 1)

    assert [o["id"] for o in alice.api.get("/wapi/v1/history/orders", {"orderId": "1"}).json()] == ["1"]
    assert len(alice.api.get("/wapi/v1/history/orders", {"symbol": "SOL_USDC"}).json()) == 2


def test_another_users_orders_and_fills_are_not_in_the_history(alice, bob, sol_usdc):
    make_order(bob.user, sol_usdc, 1, T0)
    make_fill(bob.user, sol_usdc, 1, T0)

    assert alice.api.get("/wapi/v1/history/orders").json() == []
    assert alice.api.get("/wapi/v1/history/fills").json() == []


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "1001"}, {"limit": "-1"}, {"limit": "ten"}, {"offset": "-1"}]
)
def test_a_bad_limit_or_offset_is_invalid_client_request(alice, sol_usdc, query):
    response = alice.api.get("/wapi/v1/history/orders", query)

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


@pytest.mark.parametrize(
    ("path", "symbol", "message"),
    [
        ("/wapi/v1/history/orders", "DOGE_USDC", "Invalid symbol: 'DOGE_USDC' is not a market"),
        ("/wapi/v1/history/orders", "SOL\x00", "Invalid symbol: 'SOL\\x00' is not a market"),
        ("/wapi/v1/history/fills", "SOL\x00", "Invalid symbol: 'SOL\\x00' is not a market"),
    ],
)
def test_a_symbol_that_is_not_a_market_is_invalid_symbol_even_with_a_nul_byte(
    alice, sol_usdc, path, symbol, message
):
    response = alice.api.get(path, {"symbol": symbol})

    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_SYMBOL", "message": message}


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        (
            "/wapi/v1/history/orders",
            {"offset": str(2**62 + 1)},
            f"Invalid offset: must be between 0 and {2**62}",
        ),
        ("/wapi/v1/history/fills", {"from": str(2**63)}, f"Invalid from: must be between 0 and {2**63 - 1}"),
        ("/wapi/v1/capital/deposits", {"to": str(2**63)}, f"Invalid to: must be between 0 and {2**63 - 1}"),
    ],
)
def test_a_number_past_what_the_database_compares_is_refused_not_a_server_error(
    alice, sol_usdc, path, query, message
):
    response = alice.api.get(path, query)

    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_CLIENT_REQUEST", "message": message}


def test_fill_history_renders_fills_with_fee_and_naive_iso_timestamp(alice, sol_usdc):
    make_fill(alice.user, sol_usdc, 7, T0 + 5, order_id=42, client_id=9)

    assert alice.api.get("/wapi/v1/history/fills").json() == [
        {
            "tradeId": 7,
            "orderId": "42",
            "symbol": "SOL_USDC",
            "side": "Bid",
            "price": "140.55",
            "quantity": "1.5",
            "fee": "0.105412",
            "feeSymbol": "USDC",
            "isMaker": False,
            "timestamp": "2025-07-19T04:40:00.005",
            "clientId": 9,
        }
    ]


def test_fill_history_filters_by_time_range_and_paginates(alice, sol_usdc):
    for i in range(4):
        make_fill(alice.user, sol_usdc, i + 1, T0 + i * 1000)

    in_range = alice.api.get("/wapi/v1/history/fills", {"from": T0 + 1000, "to": T0 + 3000})
    paged = alice.api.get("/wapi/v1/history/fills", {"limit": 1, "offset": 1})

    assert [f["tradeId"] for f in in_range.json()] == [3, 2]
    assert [f["tradeId"] for f in paged.json()] == [3]


def make_transfer(user, tx_id: str, kind: str, asset: str, amount: int, seq: int, ts: int) -> Transfer:
    return Transfer.objects.create(
        tx_id=tx_id, kind=kind, user=user, account=user.pk, asset=asset, amount=amount, seq=seq, ts=ts
    )


def test_deposit_history_lists_the_users_deposits_only(alice, bob, sol_usdc):
    make_transfer(alice.user, "d1", "deposit", "USDC", 250_500_000, seq=31, ts=T0)
    make_transfer(alice.user, "w1", "withdrawal", "USDC", 1, seq=32, ts=T0 + 1)
    make_transfer(bob.user, "d2", "deposit", "USDC", 1, seq=33, ts=T0)

    response = alice.api.get("/wapi/v1/capital/deposits")

    assert response.json() == [
        {
            "id": 31,
            "createdAt": "2025-07-19T04:40:00.000",
            "quantity": "250.5",
            "status": "confirmed",
            "symbol": "USDC",
            "source": "administrator",
            "toAddress": None,
            "fromAddress": None,
            "transactionHash": None,
            "identifier": "d1",
        }
    ]


def test_withdrawal_history_lists_withdrawals_newest_first(alice, sol_usdc):
    make_transfer(alice.user, "w1", "withdrawal", "SOL", 1_500_000_000, seq=40, ts=T0)
    make_transfer(alice.user, "w2", "withdrawal", "SOL", 2_000_000_000, seq=41, ts=T0 + 1)

    response = alice.api.get("/wapi/v1/capital/withdrawals")

    assert [(w["id"], w["quantity"], w["fee"], w["status"]) for w in response.json()] == [
        (41, "2", "0", "confirmed"),
        (40, "1.5", "0", "confirmed"),
    ]


def test_deposit_history_accepts_end_time_as_the_upper_bound(alice, sol_usdc):
    for i in range(3):
        make_transfer(alice.user, f"d{i}", "deposit", "USDC", 1, seq=50 + i, ts=T0 + i)

    response = alice.api.get("/wapi/v1/capital/deposits", {"from": T0 + 1, "endTime": T0 + 2})

    assert [d["id"] for d in response.json()] == [51]
