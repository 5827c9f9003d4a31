"""Fixtures of the persistence tests (which need no engine to persist events; their market,
``sol_usdc``, is in the database only): two traders, and a real Celery worker subprocess on a
queue of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from tests.conftest import Worker, make_market, wait_until  # noqa: F401 - shared by the tests here


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
def celery_worker_proc(persistence_worker):
    """A stopped worker on an emptied Redis, on a queue of its own: the test starts (and kills,
    and restarts) it and sends with ``send_batch(events, worker.queue)``."""
    persistence_worker.queue = f"persist-test-{uuid.uuid4().hex[:12]}"
    return persistence_worker


def send_batch(events: list[dict], queue: str | None = None) -> str:
    """What the engine process does with a batch (``history.tasks.hand_over``); the entry id."""
    from history.tasks import hand_over

    return hand_over(events, queue)
