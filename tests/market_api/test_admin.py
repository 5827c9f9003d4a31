"""Django admin for markets: changes go through the engine; trades are read-only."""

from __future__ import annotations

import pytest

from markets import admin as market_admin
from markets.models import Trade

pytestmark = pytest.mark.django_db

MARKET_FORM = {
    "min_price": "0.01",
    "max_price": "1000000",
    "min_quantity": "0.01",
    "max_quantity": "100000",
    "min_notional": "0",
    "maker_fee_bps": "2",
    "taker_fee_bps": "5",
    "state": "Closed",
}


def test_changing_a_market_goes_through_markets_services_update_market(admin_client, sol_usdc, monkeypatch):
    updated = []
    monkeypatch.setattr(
        market_admin.services, "update_market", lambda m: updated.append((m.symbol, m.state)) or []
    )

    response = admin_client.post(f"/admin/markets/market/{sol_usdc.pk}/change/", MARKET_FORM)

    assert response.status_code == 302
    assert updated == [("SOL_USDC", "Closed")]


def test_a_market_change_the_engine_rejects_is_reported_to_the_operator(admin_client, sol_usdc, monkeypatch):
    rejected = [{"type": "Rejected", "message": "max_price below min_price"}]
    monkeypatch.setattr(market_admin.services, "update_market", lambda m: rejected)

    response = admin_client.post(f"/admin/markets/market/{sol_usdc.pk}/change/", MARKET_FORM, follow=True)

    assert "The engine rejected the change: max_price below min_price" in response.content.decode()


def test_what_the_engine_cannot_change_is_read_only_on_a_market(admin_client, sol_usdc):
    response = admin_client.get(f"/admin/markets/market/{sol_usdc.pk}/change/")

    form = response.context["adminform"].form
    assert sorted(form.fields) == sorted(MARKET_FORM)


def test_adding_a_market_appends_its_add_market_command_after_commit(
    admin_client, sol, usdc, monkeypatch, django_capture_on_commit_callbacks
):
    appended = []
    monkeypatch.setattr(market_admin.client, "append", appended.append)
    form = {
        **MARKET_FORM,
        "state": "Open",
        "symbol": "SOL_USDC",
        "base": sol.pk,
        "quote": usdc.pk,
        "tick_size": "0.01",
        "step_size": "0.01",
    }

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/markets/market/add/", form)

    assert [(type(c).__name__, c.symbol, c.min_price, c.maker_fee_bps) for c in appended] == [
        ("AddMarket", "SOL_USDC", 1, 2)
    ]


def test_trades_are_listed_but_cannot_be_added_changed_or_deleted(admin_client, sol_usdc):
    Trade.objects.create(
        market=sol_usdc, trade_id=1, price=14000, quantity=100, quote_quantity=140_000_000, buyer_order_id=1,
        seller_order_id=2, is_buyer_maker=True, ts=1_752_930_545_000, seq=1,
    )  # fmt: skip

    assert admin_client.get("/admin/markets/trade/").status_code == 200
    assert admin_client.get("/admin/markets/trade/add/").status_code == 403
    trade = Trade.objects.get()
    assert admin_client.post(f"/admin/markets/trade/{trade.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Trade.objects.count() == 1
