"""Fixtures of the private API tests: users with API keys, a client that signs requests the way
Backpack client libraries do, and markets written straight to the database for the tests that
need no engine (validation, authentication, history). Tests that trade use the shared real
engine fixtures (``engine_process``, ``demo_markets``, ``fund``) from tests/conftest.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client

from accounts import key_cache, order_input, services, signing
from contract import md_cache
from exchange_site.redis_client import get_redis
from markets import selectors as market_selectors
from markets.models import Asset, Market
from simulator.client import INSTRUCTIONS as SIMULATOR_INSTRUCTIONS

from ..conftest import make_market

# The instruction of each private operation (shared/API.md), written out here (those of the
# simulator's client as it has them) independently of the server code so that the tests pin the
# contract.
INSTRUCTIONS = SIMULATOR_INSTRUCTIONS | {
    ("GET", "/wapi/v1/history/orders"): "orderHistoryQueryAll",
    ("GET", "/wapi/v1/history/fills"): "fillHistoryQueryAll",
    ("GET", "/wapi/v1/capital/deposits"): "depositQueryAll",
    ("GET", "/wapi/v1/capital/withdrawals"): "withdrawalQueryAll",
    ("POST", "/wapi/v1/capital/withdrawals"): "withdraw",
    ("POST", "/api/v1/dev/faucet"): "faucet",
    ("GET", "/api/v1/account"): "accountQuery",
    ("PATCH", "/api/v1/account"): "accountUpdate",
    ("GET", "/api/v1/account/limits/borrow"): "maxBorrowQuantity",
    ("GET", "/api/v1/account/limits/order"): "maxOrderQuantity",
    ("GET", "/api/v1/account/limits/withdrawal"): "maxWithdrawalQuantity",
    ("POST", "/api/v1/account/convertDust"): "convertDust",
    ("GET", "/api/v1/borrowLend/positions"): "borrowLendPositionQuery",
    ("POST", "/api/v1/borrowLend"): "borrowLendExecute",
    ("GET", "/api/v1/position"): "positionQuery",
    ("GET", "/api/v1/capital/collateral"): "collateralQuery",
    ("GET", "/wapi/v1/capital/deposit/address"): "depositAddressQuery",
    ("GET", "/wapi/v1/history/borrowLend"): "borrowHistoryQueryAll",
    ("GET", "/wapi/v1/history/borrowLend/positions"): "borrowPositionHistoryQueryAll",
    ("GET", "/wapi/v1/history/interest"): "interestHistoryQueryAll",
    ("GET", "/wapi/v1/history/dust"): "dustHistoryQueryAll",
    ("GET", "/wapi/v1/history/funding"): "fundingHistoryQueryAll",
    ("GET", "/wapi/v1/history/pnl"): "pnlHistoryQueryAll",
    ("GET", "/wapi/v1/history/settlement"): "settlementHistoryQueryAll",
    ("GET", "/wapi/v1/history/rfq"): "rfqHistoryQueryAll",
    ("GET", "/wapi/v1/history/quote"): "quoteHistoryQueryAll",
    ("GET", "/wapi/v1/history/strategies"): "strategyHistoryQueryAll",
    ("POST", "/api/v1/rfq"): "rfqSubmit",
    ("POST", "/api/v1/rfq/accept"): "quoteAccept",
    ("POST", "/api/v1/rfq/refresh"): "rfqRefresh",
    ("POST", "/api/v1/rfq/cancel"): "rfqCancel",
    ("POST", "/api/v1/rfq/quote"): "quoteSubmit",
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class SignedClient:
    """Sends signed requests with Django's test client (through every middleware)."""

    def __init__(self, api_key: str, secret: str, client: Client | None = None):
        self.api_key = api_key
        self.secret = secret
        self.client = client or Client()

    def headers(self, method: str, path: str, params, *, timestamp: int | None = None, window: int = 5000):
        instruction = INSTRUCTIONS[(method, path)]
        headers = signing.signed_headers(self.secret, instruction, params, timestamp or now_ms(), window)
        headers["X-API-Key"] = self.api_key  # may differ from the secret's key (forgery tests)
        return headers

    def get(self, path: str, query: dict | None = None, **sign_options):
        query = {k: str(v) for k, v in (query or {}).items()}
        headers = self.headers("GET", path, query, **sign_options)
        return self.client.get(path, query, headers=headers)

    def send(self, method: str, path: str, body, *, raw: str | None = None, signed=None, **sign_options):
        """``body`` is JSON-encoded and signed; ``raw`` sends that exact text instead, signed over
        ``signed`` (the parameters as the client library would render them)."""
        text = raw if raw is not None else json.dumps(body)
        headers = self.headers(method, path, body if signed is None else signed, **sign_options)
        call = {"POST": self.client.post, "DELETE": self.client.delete, "PATCH": self.client.patch}[method]
        return call(path, data=text, content_type="application/json", headers=headers)

    def post(self, path: str, body, **options):
        return self.send("POST", path, body, **options)

    def delete(self, path: str, body, **options):
        return self.send("DELETE", path, body, **options)

    def patch(self, path: str, body, **options):
        return self.send("PATCH", path, body, **options)


@dataclass
class Trader:
    user: object
    api: SignedClient
    key: object


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The production hasher takes most of a second per user on purpose; tests create many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_market_cache():
    # Each test database has its own market rows; forget formats cached by earlier tests.
    def clear():
        market_selectors.clear_market_cache()
        order_input.forget_cached_rules()
        key_cache.forget_all()

    clear()
    yield
    clear()


@pytest.fixture(autouse=True)
def _no_throttle_leftovers():
    """Rate-limit counters live in Redis; start each test with none (only those keys)."""

    def clear():
        conn = get_redis()
        keys = list(conn.scan_iter("throttle:*", count=1000))
        if keys:
            conn.delete(*keys)

    clear()
    yield
    clear()


@pytest.fixture
def make_trader(django_user_model) -> Callable[[str], Trader]:
    def make(username: str) -> Trader:
        user = django_user_model.objects.create_user(username=username, password="pw-" + username)
        # User ids restart in every test database: drop what an earlier run cached for this id.
        per_account = (
            md_cache.balances_key,
            md_cache.open_orders_key,
            md_cache.recent_orders_key,
            md_cache.recent_fills_key,
        )
        get_redis().delete(*(key(user.pk) for key in per_account))
        key, secret = services.create_api_key(user, "test")
        return Trader(user=user, api=SignedClient(key.public_key, secret), key=key)

    return make


@pytest.fixture
def alice(make_trader: Callable[[str], Trader]) -> Trader:
    return make_trader("alice")


@pytest.fixture
def bob(make_trader: Callable[[str], Trader]) -> Trader:
    return make_trader("bob")


@pytest.fixture
def traders(engine_process, make_trader, fund):
    """With the real engine: alice holds 1000 USDC, bob holds 10 SOL."""
    alice, bob = make_trader("alice"), make_trader("bob")
    fund(alice.user, "USDC", "1000")
    fund(bob.user, "SOL", "10")
    return alice, bob


@pytest.fixture
def sol_usdc(sol: Asset, usdc: Asset) -> Market:
    """A market in the database only (no engine): tick 0.01, step 0.01, minimum notional 5 USDC."""
    return make_market("SOL_USDC", sol, usdc, min_notional=Decimal("5"))


@pytest.fixture
def engine_calls(monkeypatch) -> list:
    """Records what would be sent to the engine, and fails the test if anything is: for requests
    that must be refused before they reach the engine."""
    from engine import client

    calls: list = []

    def refuse(command, timeout=None):
        calls.append(command)
        raise AssertionError(f"sent to the engine: {command!r}")

    monkeypatch.setattr(client, "submit", refuse)
    return calls
