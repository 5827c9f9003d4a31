"""Deactivating a user takes their access away: their open orders are cancelled through the
engine, their sessions end, their API keys stop working; the admin says so before it happens."""

from __future__ import annotations

import io

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client

from accounts import services

pytestmark = pytest.mark.services

BID = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "10", "quantity": "1"}
BTC_BID = {"symbol": "BTC_USDC", "side": "Bid", "orderType": "Limit", "price": "1000", "quantity": "0.001"}


@pytest.fixture
def trading_alice(alice, fund):
    """Alice with an open order in two markets and a browser session."""
    fund(alice.user, "USDC", "1000")
    assert alice.api.post("/api/v1/order", BID).status_code == 200
    assert alice.api.post("/api/v1/order", BTC_BID).status_code == 200
    Client().force_login(alice.user)
    assert Session.objects.count() == 1
    return alice


def open_orders(trader) -> list:
    return trader.api.get("/api/v1/orders").json()


def test_deactivating_cancels_the_open_orders_ends_sessions_and_keys(trading_alice, monkeypatch):
    from accounts import tasks

    second_pass = []
    monkeypatch.setattr(tasks.cancel_open_orders, "apply_async", lambda **kw: second_pass.append(kw))
    out = io.StringIO()

    call_command("deactivate_user", "alice", stdout=out)

    assert out.getvalue() == (
        "alice deactivated: API keys and 1 session(s) ended, private streams closed;"
        " 2 open order(s) cancelled through the engine\n"
    )
    assert Session.objects.count() == 0
    refused = trading_alice.api.get("/api/v1/orders")
    assert (refused.status_code, refused.json()["code"], refused.json()["message"]) == (
        401,
        "UNAUTHORIZED",
        "Account disabled",
    )
    trading_alice.user.is_active = True  # to look at the book through her key once more
    trading_alice.user.save()
    assert open_orders(trading_alice) == []
    assert second_pass == [{"args": [trading_alice.user.pk], "countdown": services.SECOND_PASS_AFTER_S}]


def test_the_second_pass_cancels_what_came_in_after_the_first(trading_alice):
    from accounts.tasks import cancel_open_orders

    services.deactivate_user(trading_alice.user)
    # An order a web process let through before it saw the deactivation (its key cache).
    events = services.place_order(trading_alice.user, BID)
    assert events["status"] == "New"

    assert cancel_open_orders.run(trading_alice.user.pk) == 1


def test_with_the_engine_down_the_user_is_deactivated_and_told_the_orders_stay(
    alice, demo_markets, redis_conn
):
    out = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("deactivate_user", "alice", stdout=out)

    assert exited.value.code == 1
    alice.user.refresh_from_db()
    assert not alice.user.is_active
    assert (
        "their open orders could not be cancelled (the matching engine is not accepting commands"
        in out.getvalue()
    )


def test_the_admin_says_what_deactivating_does_and_then_what_it_did(
    trading_alice, django_user_model, monkeypatch
):
    from accounts import tasks

    monkeypatch.setattr(tasks.cancel_open_orders, "apply_async", lambda **kw: None)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")
    browser = Client()
    browser.force_login(admin)
    url = f"/admin/auth/user/{trading_alice.user.pk}/change/"
    form = browser.get(url)
    assert "their open orders are cancelled through the engine" in form.content.decode()

    response = browser.post(
        url,
        {
            "username": "alice",
            "password": trading_alice.user.password,
            "is_active": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any(m.endswith("2 open order(s) cancelled through the engine") for m in messages), messages
