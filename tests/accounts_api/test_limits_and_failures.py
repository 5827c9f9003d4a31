"""Rate limits per key, per user and per IP (429 with Retry-After), the development faucet's absence
outside DEBUG, an engine that does not answer (504, status unknown), and one that is not there
(503 MAINTENANCE, nothing appended)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from django.test import Client

from contract.names import ACCEPTING_KEY
from engine.client import REPLY_KEY_PREFIX, EngineMaintenance, OverLimit, submit_async
from engine.commandlog import COMMAND_STREAM
from engine.core.messages import CancelAll

pytestmark = pytest.mark.django_db


def test_a_key_over_its_rate_is_429_with_retry_after(alice, settings):
    settings.API_RATE_LIMITS = {"key": "3/10s", "ip": "1000/10s"}
    for _ in range(3):
        assert alice.api.get("/api/v1/capital").status_code == 200

    response = alice.api.get("/api/v1/capital")

    assert (response.status_code, response.json()["code"]) == (429, "TOO_MANY_REQUESTS")
    assert 1 <= int(response["Retry-After"]) <= 11


def test_each_key_has_its_own_rate(alice, bob, settings):
    settings.API_RATE_LIMITS = {"key": "2/10s", "ip": "1000/10s"}
    alice.api.get("/api/v1/capital")
    alice.api.get("/api/v1/capital")

    assert alice.api.get("/api/v1/capital").status_code == 429
    assert bob.api.get("/api/v1/capital").status_code == 200


def test_the_keys_of_one_user_share_the_users_rate(alice, settings):
    from accounts import services

    from .conftest import SignedClient

    settings.API_RATE_LIMITS = {"key": "2/10s", "user": "3/10s", "ip": "1000/10s"}
    key, secret = services.create_api_key(alice.user, "second")
    second = SignedClient(key.public_key, secret)
    alice.api.get("/api/v1/capital")
    alice.api.get("/api/v1/capital")
    assert second.get("/api/v1/capital").status_code == 200

    response = second.get("/api/v1/capital")

    assert (response.status_code, response.json()["code"]) == (429, "TOO_MANY_REQUESTS")


def test_an_ip_over_its_rate_is_429_even_without_a_valid_signature(alice, settings):
    settings.API_RATE_LIMITS = {"key": "1000/10s", "ip": "2/10s"}
    anonymous = Client()
    anonymous.get("/api/v1/capital")
    anonymous.get("/api/v1/capital")

    unsigned = anonymous.get("/api/v1/capital")
    signed = alice.api.get("/api/v1/capital")

    assert (unsigned.status_code, unsigned.json()["code"]) == (429, "TOO_MANY_REQUESTS")
    assert signed.status_code == 429
    assert "Retry-After" in unsigned


def test_another_ip_is_not_limited_by_the_first(alice, settings):
    settings.API_RATE_LIMITS = {"key": "1000/10s", "ip": "1/10s"}
    alice.api.get("/api/v1/capital")

    other = alice.api.client.get(
        "/api/v1/capital", REMOTE_ADDR="10.0.0.2", headers=alice.api.headers("GET", "/api/v1/capital", {})
    )

    assert other.status_code == 200


def test_the_faucet_does_not_exist_without_debug(alice, settings):
    settings.DEBUG = False

    response = alice.api.post("/api/v1/dev/faucet", {"symbol": "USDC", "quantity": "1"})

    assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


def test_an_order_the_engine_does_not_answer_is_504_status_unknown(alice, sol_usdc, redis_conn, settings):
    settings.ENGINE_REPLY_TIMEOUT_S = 0.2
    # An engine that says it takes commands and then answers none (stuck since its heartbeat).
    redis_conn.set(ACCEPTING_KEY, "an engine")
    redis_conn.xadd(COMMAND_STREAM, {"cmd": "{}"})

    order = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}

    response = alice.api.post("/api/v1/order", order)

    assert (response.status_code, response.json()["code"]) == (504, "SERVER_ERROR")
    assert "clientId" in response.json()["message"]
    assert redis_conn.xlen(COMMAND_STREAM) == 2  # it was appended: it will be applied


def test_an_order_whose_connection_is_lost_after_the_append_is_504_and_appended_only_once(
    alice, sol_usdc, redis_conn, monkeypatch
):
    redis_conn.set(ACCEPTING_KEY, "an engine")
    redis_conn.xadd(COMMAND_STREAM, {"cmd": "{}"})
    # Redis takes the append; the connection is lost before its answer arrives (once: a
    # connection made again works).
    send, read = redis.connection.Connection.send_packed_command, redis.connection.Connection.read_response
    appends_sent = []

    def send_then_lose(self, command, *args, **kwargs):
        send(self, command, *args, **kwargs)
        if any(COMMAND_STREAM.encode() in bytes(part) for part in command):
            appends_sent.append(self)

    def read_lost(self, *args, **kwargs):
        if appends_sent[:1] == [self] and not getattr(self, "lost", False):
            self.lost = True
            raise redis.ConnectionError("Connection reset by peer")
        return read(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", send_then_lose)
    monkeypatch.setattr(redis.connection.Connection, "read_response", read_lost)
    order = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}

    response = alice.api.post("/api/v1/order", order)
    monkeypatch.undo()

    assert (response.status_code, response.json()["code"]) == (504, "SERVER_ERROR")
    assert redis_conn.xlen(COMMAND_STREAM) == 2  # appended once: never sent again
    assert len(appends_sent) == 1


def test_with_no_engine_running_an_order_is_refused_at_once_and_not_appended(alice, sol_usdc, redis_conn):
    redis_conn.xadd(COMMAND_STREAM, {"cmd": "{}"})  # a log, and no engine's heartbeat
    order = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}

    started = time.monotonic()
    response = alice.api.post("/api/v1/order", order)

    assert (response.status_code, response.json()["code"]) == (503, "MAINTENANCE")
    assert response.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 1  # not the 5 s reply timeout
    assert redis_conn.xlen(COMMAND_STREAM) == 1


def _submit_async(command, **kwargs):
    """``engine.client.submit_async`` on a loop of its own (the process's asyncio client is bound to
    the loop it was made on: closed and forgotten with it)."""
    from exchange_site.redis_client import get_async_redis

    async def run():
        try:
            return await submit_async(command, **kwargs)
        finally:
            await get_async_redis().aclose()

    try:
        return asyncio.run(run())
    finally:
        get_async_redis.cache_clear()


def test_an_append_over_a_rate_limit_is_refused_without_waiting_out_the_reply_timeout(redis_conn, settings):
    settings.ENGINE_REPLY_TIMEOUT_S = 30
    redis_conn.set(ACCEPTING_KEY, "an engine")
    redis_conn.xadd(COMMAND_STREAM, {"cmd": "{}"})
    cancel_all = CancelAll(ts=0, account=1, market="SOL_USDC")

    started = time.monotonic()
    with pytest.raises(OverLimit) as refused:
        _submit_async(cancel_all, counters=[("limit.test", 0, 10)])

    assert time.monotonic() - started < 5  # the script woke the wait that followed it
    assert refused.value.counts == [1]
    assert redis_conn.xlen(COMMAND_STREAM) == 1  # nothing appended
    assert redis_conn.keys(f"{REPLY_KEY_PREFIX}*") == []  # the wake-up marker was taken


def test_an_append_while_the_engine_is_down_is_refused_without_waiting_out_the_reply_timeout(
    redis_conn, settings
):
    settings.ENGINE_REPLY_TIMEOUT_S = 30
    redis_conn.xadd(COMMAND_STREAM, {"cmd": "{}"})  # a log, and no engine's heartbeat

    started = time.monotonic()
    with pytest.raises(EngineMaintenance):
        _submit_async(CancelAll(ts=0, account=1, market="SOL_USDC"))

    assert time.monotonic() - started < 5
    assert redis_conn.xlen(COMMAND_STREAM) == 1
