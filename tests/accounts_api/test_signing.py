"""The signing string and Ed25519 signatures, exactly as shared/API.md specifies them."""

from __future__ import annotations

import base64

from nacl.signing import SigningKey

from accounts import signing
from accounts.signing import JsonNumber

SEED = bytes(range(32))
SECRET = base64.b64encode(SEED).decode()
API_KEY = base64.b64encode(bytes(SigningKey(SEED).verify_key)).decode()


def test_signing_string_without_parameters_is_instruction_timestamp_window():
    assert (
        signing.signing_string("balanceQuery", {}, 1700000000000, 5000)
        == "instruction=balanceQuery&timestamp=1700000000000&window=5000"
    )


def test_signing_string_sorts_parameters_by_key():
    params = {"symbol": "SOL_USDC", "side": "Bid", "quantity": "1.5", "price": "140.55", "orderType": "Limit"}

    assert signing.signing_string("orderExecute", params, 1, 5000) == (
        "instruction=orderExecute&orderType=Limit&price=140.55&quantity=1.5&side=Bid&symbol=SOL_USDC"
        "&timestamp=1&window=5000"
    )


def test_signing_string_renders_booleans_lower_case_and_integers_in_decimal():
    params = {"postOnly": True, "clientId": 42, "symbol": "SOL_USDC", "autoLend": False}

    assert signing.signing_string("orderExecute", params, 2, 6000) == (
        "instruction=orderExecute&autoLend=false&clientId=42&postOnly=true&symbol=SOL_USDC&timestamp=2&window=6000"
    )


def test_signing_string_renders_a_json_number_as_its_exact_text():
    params = {"price": JsonNumber("140.50"), "quantity": JsonNumber("1e2")}

    assert signing.signing_string("orderExecute", params, 3, 5000) == (
        "instruction=orderExecute&price=140.50&quantity=1e2&timestamp=3&window=5000"
    )


def test_batch_signing_string_repeats_the_instruction_per_order():
    orders = [{"symbol": "SOL_USDC", "side": "Bid"}, {"side": "Ask", "symbol": "BTC_USDC"}]

    assert signing.batch_signing_string("orderExecute", orders, 4, 5000) == (
        "instruction=orderExecute&side=Bid&symbol=SOL_USDC&"
        "instruction=orderExecute&side=Ask&symbol=BTC_USDC&"
        "timestamp=4&window=5000"
    )


def test_generated_key_pair_is_base64_of_32_byte_public_key_and_32_byte_seed():
    api_key, secret = signing.generate_keypair()

    assert len(base64.b64decode(api_key)) == 32
    assert len(base64.b64decode(secret)) == 32
    assert signing.public_key_of(secret) == api_key


def test_signature_is_the_ed25519_signature_of_the_signing_string():
    message = "instruction=balanceQuery&timestamp=1700000000000&window=5000"

    signature = signing.sign(SECRET, message)

    expected = SigningKey(SEED).sign(message.encode()).signature
    assert base64.b64decode(signature) == expected
    assert signing.verify(API_KEY, signature, message) is True


def test_a_signature_does_not_verify_another_message():
    signature = signing.sign(SECRET, "instruction=balanceQuery&timestamp=1&window=5000")

    assert signing.verify(API_KEY, signature, "instruction=balanceQuery&timestamp=2&window=5000") is False


def test_garbage_signature_or_key_does_not_verify():
    message = "instruction=balanceQuery&timestamp=1&window=5000"
    good = signing.sign(SECRET, message)

    assert signing.verify(API_KEY, "not base64!", message) is False
    assert signing.verify(API_KEY, base64.b64encode(b"short").decode(), message) is False
    assert signing.verify("AAAA", good, message) is False


def test_signed_headers_carry_key_timestamp_window_and_signature():
    headers = signing.signed_headers(SECRET, "balanceQuery", None, 1700000000000, 5000)

    assert headers["X-API-Key"] == API_KEY
    assert headers["X-Timestamp"] == "1700000000000"
    assert headers["X-Window"] == "5000"
    assert signing.verify(
        API_KEY, headers["X-Signature"], "instruction=balanceQuery&timestamp=1700000000000&window=5000"
    )
