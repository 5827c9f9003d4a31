"""Writes of reference data. A market or asset exists for trading only once the engine has
applied its command, so every write here records the row and appends the command."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from django.db import transaction

from engine import client
from engine.core import units
from engine.core.engine import MAX_ASSET_DECIMALS
from engine.core.market import Market as CoreMarket
from engine.core.market import MarketError
from engine.core.messages import AddAsset, AddMarket, UpdateMarket

from .models import Asset, Market

log = logging.getLogger(__name__)

# Market symbols are BASE_QUOTE, so an asset symbol has no underscore (and no space).
ASSET_SYMBOL = re.compile(r"[A-Z0-9]{1,16}")


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


class MarketChangeRejected(Exception):
    """The engine refused a market change; the row was not saved."""


def update_market(market: Market, timeout: float | None = None) -> list[dict]:
    """Apply a changed market (limits, fees, state) in the engine and save it; returns the
    engine's events. The row is saved in the same transaction as the engine's answer is awaited,
    so a change the engine refuses (``MarketChangeRejected``) or does not confirm in time
    (``ApiError``) is rolled back rather than served by the API while the engine keeps the old
    definition."""
    with transaction.atomic():
        market.save()
        events = client.submit(update_market_command(market), timeout=timeout)
        rejected = next((e for e in events if e.get("type") == "Rejected"), None)
        if rejected is not None:
            raise MarketChangeRejected(rejected.get("message") or "rejected")
    return events


def asset_problem(asset: Asset) -> str | None:
    """Why the engine would refuse this asset, or None: checked before the row is saved."""
    if not ASSET_SYMBOL.fullmatch(asset.symbol or ""):
        return "symbol: 1 to 16 capital letters and digits"
    if not 0 <= asset.decimals <= MAX_ASSET_DECIMALS:
        return f"decimals must be in [0, {MAX_ASSET_DECIMALS}]"
    return None


def market_problem(market: Market) -> str | None:
    """Why the engine would refuse this market's definition, or None: the core's own checks,
    run before the row is saved, for a new market and for a change alike."""
    try:
        command = add_market_command(market)
    except ValueError as exc:  # a limit off the tick or step grid
        return str(exc)
    assets = {market.base.symbol: market.base.decimals, market.quote.symbol: market.quote.decimals}
    try:
        CoreMarket.from_command(command, assets)
    except MarketError as exc:
        return str(exc)
    return None


def missing_reference_commands(engine_assets: set[str], engine_markets: set[str]) -> list:
    """Commands for the assets and markets in the database that the engine does not know yet.

    A row the engine would refuse (saved before the admin checked it, or edited in the database)
    is left out with an error in the log: one bad market must not keep the engine from starting.
    """
    commands: list = []
    # Assets first: a market's command needs its assets known.
    markets = Market.objects.select_related("base", "quote")
    kinds = (
        ("asset", Asset.objects.all(), engine_assets, asset_problem, add_asset_command),
        ("market", markets, engine_markets, market_problem, add_market_command),
    )
    for kind, rows, known, problem_of, command_of in kinds:
        for row in rows:
            if row.symbol in known:
                continue
            problem = problem_of(row)
            if problem is None:
                commands.append(command_of(row))
            else:
                log.error("%s %s left out of the engine: %s", kind, row.symbol, problem)
    return commands
