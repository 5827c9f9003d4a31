"""A random trading session of an engine core with its real publisher, which puts each batch
into the persistence outbox as the engine process does; the batches are written by the
persistence code in process. The engine's own state at each checkpoint is kept to compare."""

from __future__ import annotations

import asyncio
import random

import redis.asyncio
from django.conf import settings

from contract import jsonfast
from engine import lease
from engine.core import Engine
from engine.core.messages import ASK, BID, LIMIT, MARKET, CancelOrder, Deposit, PlaceOrder, Withdraw
from engine.publisher import Publisher
from exchange_site.redis_client import get_redis
from history import persistence
from history.outbox import outbox
from markets.services import missing_reference_commands
from tests.conftest import take_lease

T0 = 1_754_517_600_000


class Exchange:
    """An engine core and its publisher; ``checkpoint`` hands everything over as the engine does
    before a snapshot, and keeps the engine's state there. Batches wait in the outbox until
    ``persist`` writes them."""

    def __init__(self, accounts: list[int]) -> None:
        self.accounts = accounts
        self.engine = Engine()
        self.loop = asyncio.new_event_loop()
        self.redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        self.entries: list[str] = []
        self.lease = take_lease()
        self.publisher = Publisher(
            self.engine,
            self.redis,
            None,
            self.lease,
            self._handed,
            {},
            lambda closes: None,
            outbox=outbox(),
        )
        self.n = 0
        self.ts = T0
        self.kept: dict[int, tuple[str, bytes]] = {}  # seq -> (stream id, the engine's snapshot)
        for command in missing_reference_commands(set(), set()):
            self.apply(command)

    def stop(self) -> None:
        """As the engine stops: its lease given back."""
        lease.release(get_redis(), self.lease)

    def close(self) -> None:
        self.loop.run_until_complete(self.redis.aclose())
        self.loop.close()

    def _handed(self, entry_id: str, events: list[dict]) -> None:
        self.entries.append(entry_id)

    def apply(self, command) -> list:
        self.n += 1
        self.ts += 1
        command.ts = self.ts
        events = self.engine.apply(command)
        self.publisher.collect(events, None)
        self.publisher.applied_through = f"{self.ts}-0"
        return events

    def checkpoint(self) -> None:
        self.loop.run_until_complete(self.publisher.flush(persist_now=True))
        self.kept[self.engine.last_seq] = (f"{self.ts}-0", self.engine.snapshot())

    def persist(self, skip: set[int] = frozenset()) -> None:
        """Write the batches handed over so far (but those numbered in ``skip``), in order."""
        for number, entry_id in enumerate(self.entries):
            if number not in skip:
                persistence.persist_events(jsonfast.loads(outbox().take(get_redis(), entry_id)))

    def trade_randomly(self, commands: int, seed: int) -> None:
        rng = random.Random(seed)
        for account in self.accounts:
            self.apply(Deposit(ts=0, account=account, asset="USDC", amount=10**12, tx_id=f"usdc-{account}"))
            self.apply(Deposit(ts=0, account=account, asset="SOL", amount=10**13, tx_id=f"sol-{account}"))
        for i in range(commands):
            account = rng.choice(self.accounts)
            roll = rng.random()
            if roll < 0.15 and self.engine.open_orders(account):
                order = rng.choice(self.engine.open_orders(account))
                self.apply(CancelOrder(ts=0, account=account, market="SOL_USDC", order_id=order.order_id))
            elif roll < 0.25:
                side = rng.choice((BID, ASK))
                self.apply(
                    PlaceOrder(
                        ts=0, account=account, market="SOL_USDC", side=side, order_type=MARKET,
                        quantity=rng.randint(1, 300),
                    )
                )  # fmt: skip
            elif roll < 0.27:
                self.apply(Withdraw(ts=0, account=account, asset="USDC", amount=10**6, tx_id=f"w-{i}"))
            elif roll < 0.35:  # a trigger order, limit or market, near the prices traded
                side, market_order = rng.choice((BID, ASK)), rng.random() < 0.5
                self.apply(
                    PlaceOrder(
                        ts=0, account=account, market="SOL_USDC", side=side,
                        order_type=MARKET if market_order else LIMIT,
                        price=None if market_order else 15_000 + rng.randint(-20, 20),
                        quantity=rng.randint(1, 300), trigger_price=15_000 + rng.randint(-15, 15),
                    )
                )  # fmt: skip
            else:
                side = rng.choice((BID, ASK))
                price = 15_000 + rng.randint(-20, 20)
                self.apply(
                    PlaceOrder(
                        ts=0, account=account, market="SOL_USDC", side=side, order_type=LIMIT, price=price,
                        quantity=rng.randint(1, 500), client_id=i,
                    )
                )  # fmt: skip
            if rng.random() < 0.02:
                self.ts += 61_000  # into a later minute: the candle's close cuts a batch short
            if i % 40 == 39:
                self.checkpoint()
        self.checkpoint()
