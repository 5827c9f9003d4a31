"""Fixtures of the persistence tests: a market written straight to the database (no engine
needed to persist events), two traders, and real Celery worker subprocesses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.conftest import Worker, wait_until  # noqa: F401 - shared by the tests here


def make_market(symbol: str = "SOL_USDC"):
    from markets.models import Asset, Market

    base_symbol, quote_symbol = symbol.split("_")
    decimals = {"SOL": 9, "BTC": 8, "USDC": 6}
    base, _ = Asset.objects.get_or_create(
        symbol=base_symbol, defaults={"display_name": base_symbol, "decimals": decimals[base_symbol]}
    )
    quote, _ = Asset.objects.get_or_create(
        symbol=quote_symbol, defaults={"display_name": quote_symbol, "decimals": decimals[quote_symbol]}
    )
    return Market.objects.create(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.01"),
        min_price=Decimal("0.01"),
        max_price=Decimal("1000000"),
        min_quantity=Decimal("0.01"),
        max_quantity=Decimal("1000000"),
    )


@pytest.fixture
def sol_usdc(db):
    return make_market("SOL_USDC")


@dataclass
class Traders:
    buyer: int
    seller: int


@pytest.fixture
def traders(db) -> Traders:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return Traders(
        # No password: hashing one costs a second, and these users never log in.
        buyer=User.objects.create(username="buyer").pk,
        seller=User.objects.create(username="seller").pk,
    )


# --- real Celery workers ---------------------------------------------------------------------


@pytest.fixture
def celery_worker_proc(transactional_db, redis_conn, tmp_path):
    """A stopped worker on an emptied Redis, on a queue of its own: the test starts (and kills,
    and restarts) it and sends with ``send_batch(events, worker.queue)``."""
    worker = Worker(tmp_path, queue=f"persist-test-{uuid.uuid4().hex[:12]}")
    yield worker
    worker.stop()


def send_batch(events: list[dict], queue: str | None = None) -> str:
    """What the engine process does with a batch (``history.tasks.hand_over``); the entry id."""
    from history.tasks import hand_over

    return hand_over(events, queue)
