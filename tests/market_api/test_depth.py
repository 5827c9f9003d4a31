"""/api/v1/depth: the book snapshot from the engine's Redis cache."""

from __future__ import annotations

import time

import pytest
import redis

from markets import selectors

from .conftest import write_depth

pytestmark = pytest.mark.django_db

# As the engine writes it: both sides ascending by price, so the best bid is last.
SNAPSHOT = {
    "bids": [["139.5", "10"], ["139.9", "2.5"], ["140", "1"]],
    "asks": [["140.01", "3"], ["140.5", "7"], ["141", "0.01"]],
    "lastUpdateId": "42",
    "timestamp": 1752930545123000,
}


def test_depth_returns_the_cached_snapshot_as_the_engine_wrote_it(client, sol_usdc, md):
    write_depth(md, "SOL_USDC", SNAPSHOT)

    response = client.get("/api/v1/depth", {"symbol": "SOL_USDC"})

    assert (response.status_code, response.json()) == (200, SNAPSHOT)


def test_depth_of_a_market_the_engine_never_published_is_an_empty_book_at_update_id_zero(client, sol_usdc):
    before_us = time.time_ns() // 1000

    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC"}).json()

    assert (body["bids"], body["asks"], body["lastUpdateId"]) == ([], [], "0")
    assert before_us <= body["timestamp"] <= time.time_ns() // 1000


def test_depth_limit_keeps_the_best_asks_which_come_first(client, sol_usdc, md):
    write_depth(md, "SOL_USDC", SNAPSHOT)

    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "2"}).json()

    assert body["asks"] == [["140.01", "3"], ["140.5", "7"]]


def test_depth_limit_keeps_the_best_bids_which_come_last(client, sol_usdc, md):
    write_depth(md, "SOL_USDC", SNAPSHOT)

    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "2"}).json()

    assert body["bids"] == [["139.9", "2.5"], ["140", "1"]]


def test_depth_limit_keeps_the_snapshot_update_id(client, sol_usdc, md):
    write_depth(md, "SOL_USDC", SNAPSHOT)

    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "1"}).json()

    assert (body["lastUpdateId"], body["timestamp"]) == ("42", 1752930545123000)


def test_depth_limit_above_the_book_size_returns_the_whole_book(client, sol_usdc, md):
    write_depth(md, "SOL_USDC", SNAPSHOT)

    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "5000"}).json()

    assert body == SNAPSHOT


@pytest.mark.parametrize("limit", ["0", "5001", "-1", "ten", "1.5", "1e3", " 5", ""])
def test_depth_limit_outside_1_to_5000_or_not_an_integer_is_invalid_client_request(client, sol_usdc, limit):
    response = client.get("/api/v1/depth", {"symbol": "SOL_USDC", "limit": limit})

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CLIENT_REQUEST"


def test_depth_is_never_cached_by_clients_or_proxies(client, sol_usdc):
    assert client.get("/api/v1/depth", {"symbol": "SOL_USDC"}).headers["Cache-Control"] == "no-store"


def test_depth_makes_no_database_query_once_the_market_is_known(
    client, sol_usdc, md, django_assert_num_queries
):
    write_depth(md, "SOL_USDC", SNAPSHOT)
    selectors.market_format("SOL_USDC")

    with django_assert_num_queries(0):
        response = client.get("/api/v1/depth", {"symbol": "SOL_USDC"})

    assert response.status_code == 200


def test_depth_of_an_unknown_symbol_is_invalid_symbol(client, sol_usdc):
    response = client.get("/api/v1/depth", {"symbol": "SOL_USDT"})

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_SYMBOL"


def test_depth_when_redis_is_unreachable_is_a_503_server_error(client, sol_usdc, monkeypatch):
    selectors.market_format("SOL_USDC")
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(selectors, "get_redis", lambda: unreachable)

    response = client.get("/api/v1/depth", {"symbol": "SOL_USDC"})

    assert response.status_code == 503
    assert response.json() == {"code": "SERVER_ERROR", "message": "Market data is temporarily unavailable"}
