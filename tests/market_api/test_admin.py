"""Django admin for markets: changes go through the engine; trades are read-only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from history.models import Trade
from markets import admin as market_admin
from markets import services as market_services
from markets.models import Asset, Market

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


def new_market_form(base, quote, **overrides) -> dict:
    """The admin's add form for SOL_USDC (tick and step 0.01), with ``overrides``."""
    fields = {"symbol": "SOL_USDC", "base": base.pk, "quote": quote.pk}
    return {**MARKET_FORM, **fields, "tick_size": "0.01", "step_size": "0.01", **overrides}


def test_changing_a_market_goes_through_markets_services_update_market(admin_client, sol_usdc, monkeypatch):
    updated = []
    monkeypatch.setattr(
        market_admin.services, "update_market", lambda m: updated.append((m.symbol, m.state)) or []
    )

    response = admin_client.post(f"/admin/markets/market/{sol_usdc.pk}/change/", MARKET_FORM)

    assert response.status_code == 302
    assert updated == [("SOL_USDC", "Closed")]


def test_a_market_change_the_engine_rejects_is_reported_and_not_saved(admin_client, sol_usdc, monkeypatch):
    rejected = [{"type": "Rejected", "message": "unknown market 'SOL_USDC'"}]
    monkeypatch.setattr(market_services.client, "submit", lambda command, timeout=None: rejected)

    response = admin_client.post(f"/admin/markets/market/{sol_usdc.pk}/change/", MARKET_FORM, follow=True)

    page = response.content.decode()
    assert "The engine rejected the change: unknown market &#x27;SOL_USDC&#x27;. Nothing was saved." in page
    assert "was changed successfully" not in page
    sol_usdc.refresh_from_db()
    assert (sol_usdc.state, sol_usdc.maker_fee_bps) == ("Open", 0)


def test_a_market_change_the_engine_would_refuse_is_a_form_error_and_never_sent(
    admin_client, sol_usdc, monkeypatch
):
    sent = []
    monkeypatch.setattr(market_services.client, "submit", lambda command, timeout=None: sent.append(command))

    response = admin_client.post(
        f"/admin/markets/market/{sol_usdc.pk}/change/", {**MARKET_FORM, "min_price": "5", "max_price": "1"}
    )

    assert response.status_code == 200  # the form again, with its error
    assert "The engine would refuse this market: need 0 &lt; min_price &lt;= max_price (ticks)" in (
        response.content.decode()
    )
    assert sent == []
    sol_usdc.refresh_from_db()
    assert (sol_usdc.min_price, sol_usdc.max_price) == (Decimal("0.01"), Decimal("1000000"))


def test_what_the_engine_cannot_change_is_read_only_on_a_market(admin_client, sol_usdc):
    response = admin_client.get(f"/admin/markets/market/{sol_usdc.pk}/change/")

    form = response.context["adminform"].form
    assert sorted(form.fields) == sorted(MARKET_FORM)


def test_adding_a_market_appends_its_add_market_command_after_commit(
    admin_client, sol, usdc, monkeypatch, django_capture_on_commit_callbacks
):
    appended = []
    monkeypatch.setattr(market_admin.client, "append", appended.append)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/markets/market/add/", new_market_form(sol, usdc, state="Open"))

    assert [(type(c).__name__, c.symbol, c.min_price, c.maker_fee_bps) for c in appended] == [
        ("AddMarket", "SOL_USDC", 1, 2)
    ]


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({"tick_size": "0.1", "min_price": "0.15"}, "price 0.15 is not a multiple of 0.1"),
        ({"min_price": "10", "max_price": "1"}, "need 0 &lt; min_price &lt;= max_price (ticks)"),
        ({"tick_size": "0.00000001", "min_price": "0.00000001"}, "invalid tick/step size"),
    ],
)
def test_adding_a_market_the_engine_would_refuse_is_a_form_error_and_saves_nothing(
    admin_client, sol, usdc, monkeypatch, django_capture_on_commit_callbacks, overrides, problem
):
    appended = []
    monkeypatch.setattr(market_admin.client, "append", appended.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/markets/market/add/", new_market_form(sol, usdc, **overrides))

    assert response.status_code == 200
    assert problem in response.content.decode()
    assert (Market.objects.count(), appended) == (0, [])


@pytest.mark.parametrize(
    "symbol, decimals, problem",
    [
        ("bad sym", 6, "symbol: 1 to 16 capital letters and digits"),
        ("SOL_X", 6, "symbol: 1 to 16 capital letters and digits"),
        ("HUGE", 30, "decimals must be in [0, 18]"),
    ],
)
def test_adding_an_asset_the_engine_would_refuse_is_a_form_error_and_saves_nothing(
    admin_client, monkeypatch, symbol, decimals, problem
):
    appended = []
    monkeypatch.setattr(market_admin.client, "append", appended.append)

    response = admin_client.post(
        "/admin/markets/asset/add/", {"symbol": symbol, "display_name": "x", "decimals": decimals}
    )

    assert response.status_code == 200
    assert problem in response.content.decode()
    assert (Asset.objects.count(), appended) == (0, [])


def test_a_market_row_the_engine_would_refuse_is_left_out_at_engine_start_not_fatal(sol_usdc, sol, usdc):
    Market.objects.create(
        symbol="BAD_USDC", base=sol, quote=usdc, tick_size=Decimal("0.1"), step_size=Decimal("0.01"),
        min_price=Decimal("0.15"), max_price=Decimal("10"), min_quantity=Decimal("0.01"),
        max_quantity=Decimal("10"),
    )  # fmt: skip

    commands = market_services.missing_reference_commands(set(), set())

    assert [(type(c).__name__, c.symbol) for c in commands] == [
        ("AddAsset", "SOL"), ("AddAsset", "USDC"), ("AddMarket", "SOL_USDC")
    ]  # fmt: skip


def test_trades_are_listed_but_cannot_be_added_changed_or_deleted(admin_client, sol_usdc):
    Trade.objects.create(
        market=sol_usdc, trade_id=1, price=14000, quantity=100, quote_quantity=140_000_000, buyer_order_id=1,
        seller_order_id=2, is_buyer_maker=True, ts=1_752_930_545_000, seq=1,
    )  # fmt: skip

    assert admin_client.get("/admin/history/trade/").status_code == 200
    assert admin_client.get("/admin/history/trade/add/").status_code == 403
    trade = Trade.objects.get()
    assert admin_client.post(f"/admin/history/trade/{trade.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Trade.objects.count() == 1
