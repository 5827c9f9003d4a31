"""``/livez`` says the web process answers; ``/readyz`` says it can serve: the database, Redis
and an engine that takes commands."""

from __future__ import annotations

import pytest

from contract.names import ACCEPTING_KEY

pytestmark = pytest.mark.django_db


def test_livez_answers_while_the_process_runs(client):
    response = client.get("/livez")

    assert (response.status_code, response.json()) == (200, {"status": "live"})


def test_readyz_is_ready_with_the_database_redis_and_an_engine_taking_commands(client, redis_conn):
    redis_conn.set(ACCEPTING_KEY, "an engine")

    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_readyz_is_503_with_the_reason_while_the_engine_is_down(client, redis_conn):
    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (
        503,
        {"status": "unready", "reason": "the matching engine is down"},
    )


def test_readyz_is_503_when_redis_cannot_be_reached(client, redis_conn, monkeypatch):
    from exchange_site import redis_client

    monkeypatch.setattr(redis_client.settings, "REDIS_URL", "redis://127.0.0.1:1/0")
    redis_client.get_redis.cache_clear()
    try:
        response = client.get("/readyz")
    finally:
        redis_client.get_redis.cache_clear()

    assert response.status_code == 503
    assert response.json()["reason"].startswith("Redis unreachable: Error 111 connecting to 127.0.0.1:1.")
