"""Who may call the private API: a valid Ed25519 signature of an active key, or a logged-in
browser session with its CSRF token. Everything else is 401 and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services, signing
from accounts.models import ApiKey

from .conftest import SignedClient, now_ms

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}


def test_a_signed_request_is_answered(alice):
    response = alice.api.get("/api/v1/capital")

    assert response.status_code == 200
    assert response.json() == {}


def test_an_unsigned_request_is_401_unauthorized(client):
    response = client.get("/api/v1/capital")

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


def test_a_signature_by_another_key_is_401_invalid_signature(alice):
    _, other_secret = signing.generate_keypair()
    forged = SignedClient(alice.api.api_key, other_secret)

    response = forged.get("/api/v1/capital")

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")


def test_a_timestamp_older_than_the_window_is_401(alice):
    response = alice.api.get("/api/v1/capital", timestamp=now_ms() - 6000, window=5000)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")
    assert "expired" in response.json()["message"]


def test_a_timestamp_further_ahead_than_the_window_is_401(alice):
    response = alice.api.get("/api/v1/capital", timestamp=now_ms() + 6000, window=5000)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")


def test_an_old_timestamp_inside_a_wider_window_is_accepted(alice):
    response = alice.api.get("/api/v1/capital", timestamp=now_ms() - 20000, window=30000)

    assert response.status_code == 200


def test_a_window_over_60_seconds_is_401(alice):
    response = alice.api.get("/api/v1/capital", window=60001)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")


def test_a_non_integer_timestamp_is_401(alice):
    headers = alice.api.headers("GET", "/api/v1/capital", {})
    headers["X-Timestamp"] = "1.7e12"

    response = alice.api.client.get("/api/v1/capital", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")


def test_a_missing_signature_header_is_401(alice):
    headers = alice.api.headers("GET", "/api/v1/capital", {})
    del headers["X-Signature"]

    response = alice.api.client.get("/api/v1/capital", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")


def test_a_replayed_signature_with_an_altered_body_is_401_and_changes_nothing(alice, sol_usdc, engine_calls):
    altered = {**ORDER, "quantity": "1000"}

    response = alice.api.post("/api/v1/order", altered, signed=ORDER)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")
    assert engine_calls == []


def test_an_altered_query_string_is_401(alice):
    headers = alice.api.headers("GET", "/api/v1/orders", {"symbol": "SOL_USDC"})

    response = alice.api.client.get("/api/v1/orders", {"symbol": "BTC_USDC"}, headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")


def test_a_signature_for_another_instruction_is_401(alice):
    headers = signing.signed_headers(alice.api.secret, "orderQueryAll", {}, now_ms())

    response = alice.api.client.get("/api/v1/capital", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "INVALID_SIGNATURE")


def test_an_unknown_key_is_401_unauthorized(db):
    api_key, secret = signing.generate_keypair()

    response = SignedClient(api_key, secret).get("/api/v1/capital")

    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")


def test_a_revoked_key_is_401_unauthorized(alice):
    services.revoke_api_key(alice.user, alice.key.pk)

    response = alice.api.get("/api/v1/capital")

    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")
    assert response.json()["message"] == "API key revoked"


def test_a_key_of_a_disabled_user_is_401(alice):
    alice.user.is_active = False
    alice.user.save()

    response = alice.api.get("/api/v1/capital")

    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")


def test_a_successful_request_records_when_the_key_was_last_used(alice):
    assert alice.key.last_used_at is None

    alice.api.get("/api/v1/capital")

    assert ApiKey.objects.get(pk=alice.key.pk).last_used_at is not None


def test_a_batch_is_signed_order_by_order(alice, sol_usdc, engine_calls):
    # An unknown symbol: authentication passes, validation refuses, nothing reaches the engine.
    batch = [{**ORDER, "symbol": "NOPE_USDC"}, ORDER]

    response = alice.api.post("/api/v1/orders", batch)

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SYMBOL")
    assert engine_calls == []


def test_a_json_number_is_signed_as_the_exact_text_sent(alice, sol_usdc, engine_calls):
    raw = '{"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": 100.50, "quantity": 1e400}'
    signed = {**ORDER, "price": "100.50", "quantity": "1e400"}

    response = alice.api.post("/api/v1/order", None, raw=raw, signed=signed)

    # Past authentication: refused by validation for the exponent.
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_QUANTITY")


def test_a_logged_in_browser_session_reads_without_a_signature(alice):
    browser = Client()
    browser.force_login(alice.user)

    response = browser.get("/api/v1/capital")

    assert response.status_code == 200


def test_a_session_post_without_the_csrf_token_is_refused(alice, sol_usdc, engine_calls):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)

    response = browser.post("/api/v1/order", ORDER, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "UNAUTHORIZED"
    assert "CSRF" in response.json()["message"]
    assert engine_calls == []


def test_a_session_post_with_the_csrf_token_is_accepted(alice, sol_usdc, engine_calls):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    browser.get("/account/api-keys")  # sets the csrftoken cookie, as any page does
    token = browser.cookies["csrftoken"].value

    # Below the market's minimum notional: past authentication and CSRF, refused by validation.
    response = browser.post(
        "/api/v1/order",
        {**ORDER, "price": "1", "quantity": "1"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_ORDER")
    assert engine_calls == []
