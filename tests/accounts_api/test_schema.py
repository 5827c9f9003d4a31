"""The OpenAPI schema at /api/schema describes the private API: every operation at its contract
path with its signing instruction, the signature scheme, the request bodies and the error codes
each operation can answer with. (Fuzzing it: test_fuzz_private.py.)"""

from __future__ import annotations

import pytest

from .conftest import INSTRUCTIONS

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def signed_operations(schema: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "x-signing-instruction" in operation
    }


def test_every_private_operation_is_at_its_path_with_its_signing_instruction(schema):
    instructions = {key: op["x-signing-instruction"] for key, op in signed_operations(schema).items()}

    # The development faucet exists only with DEBUG on, so the schema leaves it out.
    assert instructions == {key: i for key, i in INSTRUCTIONS.items() if i != "faucet"}


def test_every_private_operation_takes_the_signature_headers_or_a_browser_session(schema):
    securities = {str(op["security"]) for op in signed_operations(schema).values()}

    assert securities == {
        str(
            [
                {"apiKey": [], "signature": [], "timestamp": [], "window": []},
                {"apiKey": [], "signature": [], "timestamp": []},
                {"cookieAuth": []},
            ]
        )
    }


def test_the_signature_scheme_names_the_four_headers_and_the_signing_string(schema):
    schemes = schema["components"]["securitySchemes"]

    assert {name: (s["type"], s["in"], s["name"]) for name, s in schemes.items() if name != "cookieAuth"} == {
        "apiKey": ("apiKey", "header", "X-API-Key"),
        "signature": ("apiKey", "header", "X-Signature"),
        "timestamp": ("apiKey", "header", "X-Timestamp"),
        "window": ("apiKey", "header", "X-Window"),
    }
    assert (
        "instruction=<instruction>&<k1>=<v1>&<k2>=<v2>&...&timestamp=<X-Timestamp>&window=<X-Window>"
        in (schemes["signature"]["description"])
    )


def test_the_order_body_has_the_trigger_fields_as_optional_decimal_strings(schema):
    body = schema["components"]["schemas"]["OrderExecuteRequest"]

    assert {name: body["properties"][name] for name in ("triggerPrice", "triggerQuantity")} == {
        "triggerPrice": {
            "type": "string",
            "nullable": True,
            "minLength": 1,
            "pattern": r"^[0-9]+(\.[0-9]+)?$",
            "description": "makes a trigger order: placed when the last price reaches this",
        },
        "triggerQuantity": {
            "type": "string",
            "nullable": True,
            "minLength": 1,
            "pattern": r"^[0-9]+(\.[0-9]+)?$",
            "description": "the quantity a trigger order places (with triggerPrice)",
        },
    }
    assert sorted(body["required"]) == ["orderType", "side", "symbol"]


def test_an_orders_status_may_be_pending_or_failed_its_trigger(schema):
    assert schema["components"]["schemas"]["OrderStatusEnum"]["enum"] == [
        "New", "PartiallyFilled", "Filled", "Cancelled", "Expired", "TriggerPending", "TriggerFailed",
    ]  # fmt: skip


def test_the_batch_body_is_one_to_twenty_order_bodies(schema):
    body = schema["paths"]["/api/v1/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]

    assert body == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/OrderExecuteRequest"},
        "minItems": 1,
        "maxItems": 20,
    }


def error_codes(operation: dict) -> dict[str, list[str]]:
    return {
        status: response["content"]["application/json"]["schema"]["properties"]["code"]["enum"]
        for status, response in operation["responses"].items()
        if not status.startswith("2")
    }


def test_placing_an_order_lists_every_code_it_can_answer_with(schema):
    assert error_codes(schema["paths"]["/api/v1/order"]["post"]) == {
        "400": [
            "INVALID_CLIENT_REQUEST", "INVALID_SYMBOL", "INVALID_ORDER", "INVALID_PRICE", "INVALID_QUANTITY",
            "INSUFFICIENT_FUNDS", "INVALID_MARKET", "TRADING_PAUSED",
        ],
        "401": ["UNAUTHORIZED", "INVALID_SIGNATURE"],
        "403": ["UNAUTHORIZED"],
        "429": ["TOO_MANY_REQUESTS"],
        "503": ["MAINTENANCE", "SERVER_ERROR"],
        "504": ["SERVER_ERROR"],
    }  # fmt: skip


def test_reading_an_open_order_lists_every_code_it_can_answer_with(schema):
    assert error_codes(schema["paths"]["/api/v1/order"]["get"]) == {
        "400": ["INVALID_CLIENT_REQUEST", "INVALID_SYMBOL"],
        "401": ["UNAUTHORIZED", "INVALID_SIGNATURE"],
        "404": ["RESOURCE_NOT_FOUND"],
        "429": ["TOO_MANY_REQUESTS"],
        "503": ["SERVER_ERROR"],
    }


def test_an_operation_offered_nowhere_here_documents_only_its_refusal(schema):
    operation = schema["paths"]["/api/v1/borrowLend"]["post"]

    assert (sorted(operation["responses"]), operation["responses"]["400"]["description"]) == (
        ["400", "401", "403", "429"],
        "Borrowing and lending are not offered on this spot-only exchange: INVALID_CLIENT_REQUEST",
    )
