"""The market the engine benchmarks trade (``engine_core.py`` in process, ``engine_pipeline.py``
through the command stream): the engine commands that make it and fund its traders."""

from __future__ import annotations

from engine.core.messages import AddAsset, AddMarket, Deposit


def market_commands(
    base: str,
    quote: str,
    *,
    ts: int,
    base_decimals: int,
    limit: int,
    fees: tuple[int, int],
    accounts: int,
    funds: int,
) -> list[AddAsset | AddMarket | Deposit]:
    """Market ``<base>_<quote>`` (tick and step 0.01, prices and quantities from 1 to ``limit``,
    maker and taker fees ``fees`` (bps); the quote asset has 6 decimals) and ``funds`` of both
    assets for each of the accounts 1 to ``accounts``."""
    commands: list[AddAsset | AddMarket | Deposit] = [
        AddAsset(ts=ts, symbol=base, decimals=base_decimals),
        AddAsset(ts=ts, symbol=quote, decimals=6),
        AddMarket(
            ts=ts,
            symbol=f"{base}_{quote}",
            base=base,
            quote=quote,
            tick_size="0.01",
            step_size="0.01",
            min_price=1,
            max_price=limit,
            min_quantity=1,
            max_quantity=limit,
            min_notional=0,
            maker_fee_bps=fees[0],
            taker_fee_bps=fees[1],
        ),
    ]
    for account in range(1, accounts + 1):
        commands += (
            Deposit(ts=ts, account=account, asset=asset, amount=funds, tx_id=f"{asset}-{account}")
            for asset in (base, quote)
        )
    return commands
