"""Balances in the admin: shown as the engine keeps them, changed only by engine commands."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.services


@pytest.fixture
def alice(engine_process, make_trader):
    return make_trader("alice")


def adjust(admin_browser, user, kind: str, asset: str, amount: str):
    form = {"user": user.pk, "kind": kind, "asset": asset, "amount": amount}
    return admin_browser.post("/admin/history/transfer/adjust/", form, follow=True)


def test_an_admin_deposit_goes_through_the_engine_and_shows_in_the_users_balances(admin_browser, alice):
    response = adjust(admin_browser, alice.user, "deposit", "USDC", "250.5")

    assert response.redirect_chain == [("/admin/history/transfer/", 302)]
    assert "Deposit of 250.5 USDC for alice applied by the engine" in response.content.decode()
    capital = alice.api.get("/api/v1/capital").json()
    assert capital == {"USDC": {"available": "250.5", "locked": "0", "staked": "0"}}


def test_an_admin_withdrawal_beyond_the_balance_is_refused_with_the_engines_reason(admin_browser, alice):
    adjust(admin_browser, alice.user, "deposit", "USDC", "10")

    response = adjust(admin_browser, alice.user, "withdrawal", "USDC", "11")

    assert response.redirect_chain == []
    assert response.content.decode().count("The engine refused it: INSUFFICIENT_FUNDS") == 1
    assert alice.api.get("/api/v1/capital").json()["USDC"]["available"] == "10"


def test_an_amount_off_the_assets_grid_is_refused_and_changes_nothing(admin_browser, alice):
    response = adjust(admin_browser, alice.user, "deposit", "USDC", "0.0000001")

    assert "The engine refused it: INVALID_QUANTITY" in response.content.decode()
    assert alice.api.get("/api/v1/capital").json() == {}


def test_the_users_page_shows_the_engines_balances(admin_browser, alice):
    adjust(admin_browser, alice.user, "deposit", "USDC", "7")

    response = admin_browser.get(f"/admin/auth/user/{alice.user.pk}/change/")

    assert "<div>USDC: 7 available, 0 locked</div>" in response.content.decode()


def test_the_transfer_list_links_to_the_adjustment_and_adds_no_rows(admin_browser, alice):
    page = admin_browser.get("/admin/history/transfer/").content.decode()

    assert 'href="/admin/history/transfer/adjust/"' in page
    assert admin_browser.get("/admin/history/transfer/add/").status_code == 403


def test_a_staff_user_without_the_permission_cannot_adjust(django_user_model, alice):
    staff = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)

    form = {"user": alice.user.pk, "kind": "deposit", "asset": "USDC", "amount": "5"}

    response = client.post("/admin/history/transfer/adjust/", form)

    assert response.status_code == 403
    assert alice.api.get("/api/v1/capital").json() == {}
