"""API keys in the admin (list, revoke; never created there) and ``create_api_key``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey

from .conftest import SignedClient

pytestmark = pytest.mark.django_db


def test_the_admin_lists_api_keys(admin_browser, alice):
    response = admin_browser.get("/admin/accounts/apikey/")

    assert response.status_code == 200
    assert alice.key.public_key in response.content.decode()


def test_the_admin_revokes_selected_keys(admin_browser, alice, bob):
    admin_browser.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [alice.key.pk]})

    assert ApiKey.objects.get(pk=alice.key.pk).revoked is True
    assert ApiKey.objects.get(pk=bob.key.pk).revoked is False


def test_the_admin_cannot_create_a_key(admin_browser):
    assert admin_browser.get("/admin/accounts/apikey/add/").status_code == 403


@pytest.mark.parametrize("model", ["order", "fill", "ledgerentry", "transfer"])
def test_the_admin_shows_private_history_read_only(admin_browser, model):
    assert admin_browser.get(f"/admin/history/{model}/").status_code == 200
    assert admin_browser.get(f"/admin/history/{model}/add/").status_code == 403


@pytest.mark.parametrize(
    "former", ["accounts/order", "accounts/fill", "accounts/ledgerentry", "markets/trade"]
)
def test_the_history_pages_former_addresses_lead_to_them(admin_browser, former):
    response = admin_browser.get(f"/admin/{former}/?o=1")

    assert response.status_code == 301
    assert response["Location"] == f"/admin/history/{former.split('/')[1]}/?o=1"


def test_create_api_key_json_prints_exactly_one_json_object(alice):
    out = StringIO()

    call_command("create_api_key", "alice", "--json", stdout=out)

    printed = json.loads(out.getvalue())
    assert set(printed) == {"api_key", "secret"}
    assert out.getvalue().count("\n") == 1
    assert ApiKey.objects.filter(user=alice.user, public_key=printed["api_key"]).exists()


def test_a_key_from_the_command_signs_api_requests(alice):
    out = StringIO()
    call_command("create_api_key", "alice", "--json", stdout=out)
    printed = json.loads(out.getvalue())

    response = SignedClient(printed["api_key"], printed["secret"]).get("/api/v1/capital")

    assert response.status_code == 200


def test_create_api_key_prints_the_key_and_the_secret_for_people(alice):
    out = StringIO()

    call_command("create_api_key", "alice", "--label", "desk", stdout=out)

    key = ApiKey.objects.get(user=alice.user, label="desk")
    assert f"API key: {key.public_key}" in out.getvalue()
    assert "Secret:" in out.getvalue()


def test_create_api_key_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no such user"):
        call_command("create_api_key", "nobody", stdout=StringIO())
