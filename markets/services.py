"""Writes of reference data. A market or asset exists for trading only once the engine has
applied its command, so every write here records the row and appends the command."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from engine import client
from engine.core import units
from engine.core.messages import AddAsset, AddMarket, UpdateMarket

from .models import Asset, Market


def add_asset_command(asset: Asset) -> AddAsset:
    return AddAsset(ts=0, symbol=asset.symbol, decimals=asset.decimals)


def add_market_command(market: Market) -> AddMarket:
    tick, step = market.tick_size, market.step_size
    return AddMarket(
        ts=0,
        symbol=market.symbol,
        base=market.base.symbol,
        quote=market.quote.symbol,
        tick_size=units.format_decimal(tick),
        step_size=units.format_decimal(step),
        min_price=units.to_ticks(market.min_price, tick),
        max_price=units.to_ticks(market.max_price, tick),
        min_quantity=units.to_lots(market.min_quantity, step),
        max_quantity=units.to_lots(market.max_quantity, step),
        min_notional=units.to_units(market.min_notional, market.quote.decimals),
        maker_fee_bps=market.maker_fee_bps,
        taker_fee_bps=market.taker_fee_bps,
        state=market.state,
    )


def update_market_command(market: Market) -> UpdateMarket:
    full = add_market_command(market)
    return UpdateMarket(
        ts=0,
        symbol=market.symbol,
        state=full.state,
        min_price=full.min_price,
        max_price=full.max_price,
        min_quantity=full.min_quantity,
        max_quantity=full.max_quantity,
        min_notional=full.min_notional,
        maker_fee_bps=full.maker_fee_bps,
        taker_fee_bps=full.taker_fee_bps,
    )


def ensure_asset(symbol: str, display_name: str, decimals: int) -> Asset:
    """Create the asset if missing and tell the engine (idempotent: the engine rejects a repeat)."""
    asset, created = Asset.objects.get_or_create(
        symbol=symbol, defaults={"display_name": display_name, "decimals": decimals}
    )
    if created:
        transaction.on_commit(lambda: client.append(add_asset_command(asset)))
    return asset


def ensure_market(
    symbol: str,
    base: Asset,
    quote: Asset,
    *,
    tick_size: str,
    step_size: str,
    min_price: str,
    max_price: str,
    min_quantity: str,
    max_quantity: str,
    min_notional: str = "0",
    maker_fee_bps: int = 0,
    taker_fee_bps: int = 0,
) -> Market:
    market, created = Market.objects.get_or_create(
        symbol=symbol,
        defaults={
            "base": base,
            "quote": quote,
            "tick_size": Decimal(tick_size),
            "step_size": Decimal(step_size),
            "min_price": Decimal(min_price),
            "max_price": Decimal(max_price),
            "min_quantity": Decimal(min_quantity),
            "max_quantity": Decimal(max_quantity),
            "min_notional": Decimal(min_notional),
            "maker_fee_bps": maker_fee_bps,
            "taker_fee_bps": taker_fee_bps,
        },
    )
    if created:
        transaction.on_commit(lambda: client.append(add_market_command(market)))
    return market


def update_market(market: Market, timeout: float | None = None) -> list[dict]:
    """Save a changed market (limits, fees, state) and apply it in the engine; returns its events."""
    market.save()
    return client.submit(update_market_command(market), timeout=timeout)


def missing_reference_commands(engine_assets: set[str], engine_markets: set[str]) -> list:
    """Commands for the assets and markets in the database that the engine does not know yet."""
    commands: list = [add_asset_command(a) for a in Asset.objects.all() if a.symbol not in engine_assets]
    commands += [
        add_market_command(m)
        for m in Market.objects.select_related("base", "quote")
        if m.symbol not in engine_markets
    ]
    return commands
