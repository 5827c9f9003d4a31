"""Balances: per account and asset, ``available`` and ``locked`` integer units."""

from __future__ import annotations

__all__ = ["Balance", "Ledger", "settle_fill"]


class Balance:
    """One account's holding of one asset. ``locked`` is exactly the sum of the reserves of the
    account's open orders in this asset."""

    __slots__ = ("account", "asset", "available", "locked")

    def __init__(self, account: int, asset: str, available: int = 0, locked: int = 0) -> None:
        self.account = account
        self.asset = asset
        self.available = available
        self.locked = locked

    def pair(self) -> tuple[int, int]:
        return (self.available, self.locked)

    def lock(self, amount: int) -> None:
        self.available -= amount
        self.locked += amount

    def unlock(self, amount: int) -> None:
        self.locked -= amount
        self.available += amount

    def __repr__(self) -> str:
        return f"Balance({self.account}, {self.asset}, available={self.available}, locked={self.locked})"


class Ledger:
    """``accounts: dict[account, dict[asset, Balance]]``. The engine's hot path reads
    ``accounts`` directly; these methods are for everything else."""

    __slots__ = ("accounts",)

    def __init__(self) -> None:
        self.accounts: dict[int, dict[str, Balance]] = {}

    def get(self, account: int, asset: str) -> Balance | None:
        a = self.accounts.get(account)
        return None if a is None else a.get(asset)

    def entry(self, account: int, asset: str) -> Balance:
        """The balance, created (at zero) if missing. Only for accepted commands: a rejected
        command must not create entries."""
        a = self.accounts.get(account)
        if a is None:
            a = self.accounts[account] = {}
        b = a.get(asset)
        if b is None:
            b = a[asset] = Balance(account, asset)
        return b

    def available(self, account: int, asset: str) -> int:
        b = self.get(account, asset)
        return 0 if b is None else b.available

    def pair(self, account: int, asset: str) -> tuple[int, int]:
        b = self.get(account, asset)
        return (0, 0) if b is None else (b.available, b.locked)

    def balances(self, account: int) -> dict[str, tuple[int, int]]:
        a = self.accounts.get(account)
        if not a:
            return {}
        return {asset: (b.available, b.locked) for asset, b in sorted(a.items())}

    def totals(self) -> dict[str, int]:
        """Available plus locked over all accounts, per asset."""
        totals: dict[str, int] = {}
        for per_asset in self.accounts.values():
            for asset, b in per_asset.items():
                totals[asset] = totals.get(asset, 0) + b.available + b.locked
        return totals

    def iter_all(self):
        """``(account, asset, available, locked)`` for every entry, sorted by account then asset."""
        for account in sorted(self.accounts):
            for asset, b in sorted(self.accounts[account].items()):
                yield (account, asset, b.available, b.locked)


def settle_fill(
    buyer_quote: Balance,
    buyer_base: Balance,
    seller_base: Balance,
    seller_quote: Balance,
    fees: Balance | None,
    base_amount: int,
    notional: int,
    buyer_fee: int,
    seller_fee: int,
    buyer_unlock: int,
) -> None:
    """Moves the funds of one fill: ``base_amount`` from the seller's lock to the buyer;
    ``notional`` plus the buyer's fee out of ``buyer_unlock`` taken from the buyer's quote lock
    (the rest of it, the price improvement and fee rounding, becomes available again); the
    notional minus the seller's fee to the seller; both fees to ``fees`` (``None`` only when
    both are zero)."""
    seller_base.locked -= base_amount
    buyer_base.available += base_amount
    buyer_quote.locked -= buyer_unlock
    buyer_quote.available += buyer_unlock - notional - buyer_fee
    seller_quote.available += notional - seller_fee
    if fees is not None:
        fees.available += buyer_fee + seller_fee
