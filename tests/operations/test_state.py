"""What the operators' state says of persistence: caught up only when nothing is waiting."""

from __future__ import annotations

import json

import pytest

from contract.names import ENGINE_METRICS_KEY
from history.outbox import outbox
from operations.state import exchange_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine_at_seq_100(redis_conn):
    redis_conn.set(ENGINE_METRICS_KEY, json.dumps({"seq": 100, "applied": 10}))


def test_persisted_when_no_batch_waits_and_the_written_seq_reached_the_engines(engine_at_seq_100, redis_conn):
    redis_conn.set(outbox().written_seq_key, 100)

    state = exchange_state()

    assert (state.persistence_lag, state.outbox, state.persisted) == (0, 0, True)


def test_not_persisted_while_a_batch_waits_though_a_later_one_brought_the_lag_to_0(
    engine_at_seq_100, redis_conn
):
    redis_conn.set(outbox().written_seq_key, 100)  # a later batch committed first
    outbox().put(redis_conn, b"an earlier batch")

    state = exchange_state()

    assert (state.persistence_lag, state.outbox, state.persisted) == (0, 1, False)


def test_not_persisted_while_behind_the_engine(engine_at_seq_100, redis_conn):
    redis_conn.set(outbox().written_seq_key, 80)

    state = exchange_state()

    assert (state.persistence_lag, state.persisted) == (20, False)
