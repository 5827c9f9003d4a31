"""Bad order requests are refused with the code of what is wrong, before anything reaches the
engine (``engine_calls`` fails the test if something is sent). The market: SOL_USDC with tick
0.01, step 0.01, price 0.01..1000000, quantity 0.01..100000, minimum notional 5 USDC."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

LIMIT = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}
MARKET = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Market", "quantity": "1"}


@pytest.fixture
def place(alice, sol_usdc, engine_calls):
    def send(body, **options):
        response = alice.api.post("/api/v1/order", body, **options)
        assert engine_calls == []
        return response.status_code, response.json()["code"]

    return send


def refused(status_code: int, code: str):
    return (status_code, code)


@pytest.mark.parametrize("field", ["symbol", "side", "orderType", "price", "quantity"])
def test_a_limit_order_missing_a_required_field_is_invalid_client_request(place, field):
    body = {k: v for k, v in LIMIT.items() if k != field}

    assert place(body) == (400, "INVALID_CLIENT_REQUEST")


def test_an_unknown_field_is_invalid_client_request(place):
    assert place({**LIMIT, "leverage": "10"}) == (400, "INVALID_CLIENT_REQUEST")


def test_a_body_that_is_not_an_object_is_invalid_client_request(place):
    assert place(None, raw='["not an order"]', signed={}) == (400, "INVALID_CLIENT_REQUEST")


def test_malformed_json_is_invalid_client_request(place):
    assert place(None, raw='{"symbol": "SOL_USDC",', signed={}) == (400, "INVALID_CLIENT_REQUEST")


def test_a_repeated_key_is_invalid_client_request(place):
    raw = '{"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1", '
    raw += '"quantity": "9"}'

    assert place(None, raw=raw, signed=LIMIT) == (400, "INVALID_CLIENT_REQUEST")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_bare_json_nan_or_infinity_is_invalid_client_request(place, constant):
    head = '{"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "quantity": "1", "price": '
    raw = head + constant + "}"

    assert place(None, raw=raw, signed={**LIMIT, "price": constant}) == (400, "INVALID_CLIENT_REQUEST")


@pytest.mark.parametrize(
    "field, value",
    [
        ("side", "Buy"),
        ("side", 1),
        ("orderType", "StopLimit"),
        ("timeInForce", "GTD"),
        ("selfTradePrevention", "Allow"),
        ("postOnly", "true"),
        ("postOnly", 1),
        ("clientId", "7a"),
        ("clientId", "-7"),
        ("clientId", ""),
        ("clientId", "4294967296"),
        ("clientId", 7.0),
        ("clientId", True),
        ("clientId", -1),
        ("clientId", 4294967296),
        ("price", True),
        ("price", ["100"]),
        ("quantity", {"value": "1"}),
        ("symbol", 5),
    ],
)
def test_a_wrong_json_type_or_value_is_invalid_client_request(place, field, value):
    assert place({**LIMIT, field: value}) == (400, "INVALID_CLIENT_REQUEST")


@pytest.mark.parametrize(
    "price",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "1E2",
        "-0",
        "0",
        "0.00",
        "-100",
        " 100 ",
        "100 ",
        "1_000",
        "1,000",
        "+100",
        ".5",
        "100.",
        "0x10",
        "",
        "١٠٠",
        "100.001",
        "100.005",
    ],
)
def test_a_bad_price_string_is_invalid_price(place, price):
    assert place({**LIMIT, "price": price}) == (400, "INVALID_PRICE")


@pytest.mark.parametrize(
    "quantity",
    ["NaN", "Infinity", "1e400", "-0", "0", "-1", " 1 ", "1_000", "1.001", "0.005", "1e2"],
)
def test_a_bad_quantity_string_is_invalid_quantity(place, quantity):
    assert place({**LIMIT, "quantity": quantity}) == (400, "INVALID_QUANTITY")


def test_a_price_off_the_tick_is_invalid_price(place):
    assert place({**LIMIT, "price": "100.015"}) == (400, "INVALID_PRICE")


def test_a_quantity_off_the_step_is_invalid_quantity(place):
    assert place({**LIMIT, "quantity": "1.015"}) == (400, "INVALID_QUANTITY")


def test_a_price_below_the_minimum_is_invalid_price(place, sol_usdc):
    sol_usdc.min_price = "10"
    sol_usdc.save()

    assert place({**LIMIT, "price": "9.99", "quantity": "100"}) == (400, "INVALID_PRICE")


def test_a_price_above_the_maximum_is_invalid_price(place):
    assert place({**LIMIT, "price": "1000000.01"}) == (400, "INVALID_PRICE")


def test_a_quantity_above_the_maximum_is_invalid_quantity(place):
    assert place({**LIMIT, "quantity": "100000.01"}) == (400, "INVALID_QUANTITY")


def test_an_order_below_the_minimum_notional_is_invalid_order(place):
    # 4.99 x 1 = 4.99 USDC < 5
    assert place({**LIMIT, "price": "4.99", "quantity": "1"}) == (400, "INVALID_ORDER")


def test_a_json_number_with_its_exact_text_is_accepted_like_a_string(alice, sol_usdc, monkeypatch):
    sent = []
    from engine import client

    def reply(command, timeout=None):
        sent.append(command)
        return [
            {
                "type": "Rejected",
                "code": "INSUFFICIENT_FUNDS",
                "message": "insufficient available USDC",
                "command": "PlaceOrder",
            }
        ]

    monkeypatch.setattr(client, "submit", reply)
    raw = '{"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": 100.25, "quantity": 2}'

    alice.api.post("/api/v1/order", None, raw=raw, signed={**LIMIT, "price": "100.25", "quantity": 2})

    assert (sent[0].price, sent[0].quantity) == (10025, 200)


def test_an_unknown_market_is_invalid_symbol(place):
    assert place({**LIMIT, "symbol": "DOGE_USDC"}) == (400, "INVALID_SYMBOL")


def test_a_price_on_a_market_order_is_invalid_order(place):
    assert place({**MARKET, "price": "100"}) == (400, "INVALID_ORDER")


def test_a_time_in_force_on_a_market_order_is_invalid_order(place):
    assert place({**MARKET, "timeInForce": "IOC"}) == (400, "INVALID_ORDER")


def test_a_post_only_market_order_is_invalid_order(place):
    assert place({**MARKET, "postOnly": True}) == (400, "INVALID_ORDER")


def test_a_market_order_with_quantity_and_quote_quantity_is_invalid_order(place):
    assert place({**MARKET, "quoteQuantity": "100"}) == (400, "INVALID_ORDER")


def test_a_market_sell_by_quote_quantity_is_invalid_order(place):
    body = {"symbol": "SOL_USDC", "side": "Ask", "orderType": "Market", "quoteQuantity": "100"}

    assert place(body) == (400, "INVALID_ORDER")


def test_a_quote_quantity_on_a_limit_order_is_invalid_order(place):
    assert place({**LIMIT, "quoteQuantity": "100"}) == (400, "INVALID_ORDER")


def test_a_quote_quantity_with_more_decimals_than_the_quote_asset_is_invalid_quantity(place):
    body = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Market", "quoteQuantity": "10.0000001"}

    assert place(body) == (400, "INVALID_QUANTITY")


def test_a_quote_quantity_past_64_bits_of_the_quote_asset_is_invalid_quantity(place):
    body = {**MARKET, "quantity": None, "quoteQuantity": "9223372036854.775808"}

    assert place(body) == (400, "INVALID_QUANTITY")


@pytest.mark.parametrize("tif", ["IOC", "FOK"])
def test_a_post_only_order_that_is_not_gtc_is_invalid_order(place, tif):
    assert place({**LIMIT, "postOnly": True, "timeInForce": tif}) == (400, "INVALID_ORDER")


@pytest.mark.parametrize(
    "flag", ["reduceOnly", "autoLend", "autoLendRedeem", "autoBorrow", "autoBorrowRepay"]
)
def test_a_margin_flag_set_is_invalid_order_on_a_spot_market(place, flag):
    assert place({**LIMIT, flag: True}) == (400, "INVALID_ORDER")


def test_a_margin_flag_that_is_not_a_boolean_is_invalid_client_request(place):
    assert place({**LIMIT, "autoBorrow": "false"}) == (400, "INVALID_CLIENT_REQUEST")


@pytest.mark.parametrize(
    "field, value",
    [("stopLossTriggerPrice", "90"), ("takeProfitLimitPrice", "110"), ("slippageTolerance", "0.5"),
     ("brokerId", 7)],
)  # fmt: skip
def test_an_attached_take_profit_stop_loss_or_broker_field_set_is_invalid_order_not_ignored(
    place, field, value
):
    assert place({**LIMIT, field: value}) == (400, "INVALID_ORDER")


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"triggerPrice": "99.999"}, "INVALID_PRICE"),  # off the tick
        ({"triggerPrice": "-1"}, "INVALID_PRICE"),
        ({"triggerPrice": "2000000"}, "INVALID_PRICE"),  # above the market's maximum price
        ({"triggerPrice": "99", "triggerBy": "MarkPrice"}, "INVALID_ORDER"),
        ({"triggerQuantity": "1"}, "INVALID_ORDER"),  # without a trigger price
        ({"triggerBy": "LastPrice"}, "INVALID_ORDER"),  # likewise
        ({"triggerPrice": "99", "triggerQuantity": "1"}, "INVALID_ORDER"),  # besides quantity
    ],
)
def test_a_bad_trigger_order_is_refused_with_the_code_of_what_is_wrong(place, fields, code):
    assert place({**LIMIT, **fields}) == (400, code)


def test_a_batch_of_more_than_20_orders_is_invalid_client_request(alice, sol_usdc, engine_calls):
    response = alice.api.post("/api/v1/orders", [LIMIT] * 21)

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")
    assert engine_calls == []


def test_an_empty_batch_is_invalid_client_request(alice, sol_usdc, engine_calls):
    response = alice.api.post("/api/v1/orders", [])

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_one_bad_order_refuses_the_whole_batch_and_names_it(alice, sol_usdc, engine_calls):
    response = alice.api.post("/api/v1/orders", [LIMIT, {**LIMIT, "price": "100.001"}, LIMIT])

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PRICE"
    assert response.json()["message"].startswith("Order 1: ")
    assert engine_calls == []


@pytest.mark.parametrize(
    "body",
    [
        {"orderId": "1"},
        {"symbol": "SOL_USDC"},
        {"symbol": "SOL_USDC", "orderId": "abc"},
        {"symbol": "SOL_USDC", "orderId": "-5"},
        {"symbol": "SOL_USDC", "clientId": "five"},
        {"symbol": "SOL_USDC", "orderId": "1", "force": True},
    ],
)
def test_a_bad_cancel_request_is_invalid_client_request(alice, sol_usdc, engine_calls, body):
    response = alice.api.delete("/api/v1/order", body)

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_a_cancel_in_an_unknown_market_is_invalid_symbol(alice, sol_usdc, engine_calls):
    response = alice.api.delete("/api/v1/order", {"symbol": "DOGE_USDC", "orderId": "1"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_cancel_all_without_a_symbol_is_invalid_client_request(alice, sol_usdc, engine_calls):
    response = alice.api.delete("/api/v1/orders", {})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")


def test_a_trailing_slash_on_a_private_path_is_a_404_not_a_redirect(alice, sol_usdc, engine_calls):
    response = alice.api.client.post("/api/v1/order/", LIMIT, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


def test_an_unsupported_method_is_405_invalid_client_request(alice):
    response = alice.api.client.put("/api/v1/order", {}, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (405, "INVALID_CLIENT_REQUEST")


def test_open_orders_of_an_unknown_market_is_invalid_symbol(alice, sol_usdc):
    response = alice.api.get("/api/v1/orders", {"symbol": "DOGE_USDC"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_one_order_of_an_unknown_market_is_invalid_symbol(alice, sol_usdc):
    response = alice.api.get("/api/v1/order", {"symbol": "DOGE_USDC", "orderId": "1"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")


def test_querying_one_order_needs_an_order_id_or_a_client_id(alice, sol_usdc):
    response = alice.api.get("/api/v1/order", {"symbol": "SOL_USDC"})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_CLIENT_REQUEST")
