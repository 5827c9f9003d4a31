"""Account pages: sign-up, login, logout, and API keys (created with the secret shown once,
listed, revoked)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import signing
from accounts.models import ApiKey

from .conftest import SignedClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice) -> Client:
    client = Client()
    client.force_login(alice.user)
    return client


def test_the_sign_up_page_shows_a_form(client):
    response = client.get("/signup")

    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password1"' in response.content


def test_signing_up_creates_the_user_and_logs_them_in(client):
    response = client.post(
        "/signup", {"username": "carol", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    )

    assert response.status_code == 302
    user = get_user_model().objects.get(username="carol")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signing_up_with_mismatched_passwords_creates_nobody(client):
    form = {"username": "carol", "password1": "a-long-pass-phrase", "password2": "another-pass-phrase"}

    response = client.post("/signup", form)

    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="carol").exists()


def test_logging_in_with_the_right_password(client, alice):
    response = client.post("/login", {"username": "alice", "password": "pw-alice"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.user.pk)


def test_logging_in_with_a_wrong_password_shows_the_form_again(client, alice):
    response = client.post("/login", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logging_out_ends_the_session(browser):
    response = browser.post("/logout")

    assert (response.status_code, response["Location"]) == (302, "/login")
    assert "_auth_user_id" not in browser.session


def test_the_api_keys_page_needs_a_login(client):
    response = client.get("/account/api-keys")

    assert (response.status_code, response["Location"]) == (302, "/login?next=/account/api-keys")


def test_creating_a_key_shows_the_secret_once_and_stores_only_the_public_key(browser, alice):
    response = browser.post("/account/api-keys", {"label": "bot"})

    created = response.context["created"]
    secret = created["secret"]
    key = ApiKey.objects.get(user=alice.user, label="bot")
    assert secret in response.content.decode()
    assert signing.public_key_of(secret) == key.public_key
    assert secret not in str(list(ApiKey.objects.values_list()))
    assert response["Cache-Control"].startswith("max-age=0")
    assert secret not in browser.get("/account/api-keys").content.decode()


def test_a_key_created_on_the_page_signs_api_requests(browser, alice):
    response = browser.post("/account/api-keys", {"label": "bot"})
    key = response.context["created"]["key"]

    api = SignedClient(key.public_key, response.context["created"]["secret"])

    assert api.get("/api/v1/capital").status_code == 200


def test_the_page_lists_the_users_keys_and_not_others(browser, alice, bob):
    content = browser.get("/account/api-keys").content.decode()

    assert alice.key.public_key in content
    assert bob.key.public_key not in content


def test_revoking_a_key_on_the_page(browser, alice):
    response = browser.post(f"/account/api-keys/{alice.key.pk}/revoke")

    assert (response.status_code, response["Location"]) == (302, "/account/api-keys")
    assert ApiKey.objects.get(pk=alice.key.pk).revoked is True
    assert alice.api.get("/api/v1/capital").status_code == 401


def test_another_users_key_cannot_be_revoked(browser, bob):
    browser.post(f"/account/api-keys/{bob.key.pk}/revoke")

    assert ApiKey.objects.get(pk=bob.key.pk).revoked is False


def test_revoking_needs_a_post(browser, alice):
    response = browser.get(f"/account/api-keys/{alice.key.pk}/revoke")

    assert response.status_code == 405
    assert ApiKey.objects.get(pk=alice.key.pk).revoked is False


def test_page_forms_require_the_csrf_token(alice):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice.user)

    response = strict.post("/account/api-keys", {"label": "bot"})

    assert response.status_code == 403
    assert not ApiKey.objects.filter(label="bot").exists()


def test_password_guessing_is_stopped_after_ten_attempts_a_minute_per_username(client, alice, redis_conn):
    for _ in range(10):
        assert client.post("/login", {"username": "alice", "password": "guess"}).status_code == 200

    refused = client.post("/login", {"username": "alice", "password": "pw-alice"})  # even the right one

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) <= 60
    assert b"Too many login attempts: try again in" in refused.content
    assert "_auth_user_id" not in client.session
    other = client.post("/login", {"username": "bob", "password": "guess"})
    assert other.status_code == 200  # another username is not held up
