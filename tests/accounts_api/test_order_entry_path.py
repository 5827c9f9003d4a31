"""The order entry path on the event loop (accounts.api.fast) answers exactly as the DRF views.

Every other test of the private API goes through Django's test client, i.e. the DRF views. Here
the same requests go through the served ASGI application (``exchange_site.asgi.application``),
whose HTTP side answers signed place and cancel requests itself: status, body and headers must
be the ones the view gives for the same request, and whatever it does not handle exactly so
must reach Django untouched.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from accounts import signing
from accounts.api import fast
from contract.names import ACCEPTING_KEY
from engine import client as engine_client
from exchange_site import asgi
from exchange_site.redis_client import get_async_redis

from .conftest import INSTRUCTIONS, now_ms

pytestmark = pytest.mark.django_db(transaction=True)

BID = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "2"}
# Headers that differ between two requests whatever serves them.
VOLATILE = {"date", "server"}


@pytest.fixture
def engine_calls(engine_calls, monkeypatch) -> list:
    """conftest's ``engine_calls``, for the asynchronous submit too."""

    async def refuse(command, timeout=None, counters=()):
        engine_calls.append(command)
        raise AssertionError(f"sent to the engine: {command!r}")

    monkeypatch.setattr(engine_client, "submit_async", refuse)
    return engine_calls


@pytest.fixture
def fallbacks(monkeypatch) -> list:
    """The requests the order entry path handed to Django (recorded, then served by Django)."""
    seen: list = []
    entry = asgi.application.application_mapping["http"]
    django = entry.django

    async def recording(scope, receive, send):
        seen.append((scope["method"], scope["path"]))
        await django(scope, receive, send)

    monkeypatch.setattr(entry, "django", recording)
    return seen


def asgi_call(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """One request through the served ASGI application (as uvicorn hands it over)."""
    headers = {**headers, "Content-Length": str(len(body))} if body or method != "GET" else headers
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    async def run():
        try:
            await asgi.application(scope, receive, send)
        finally:  # the process's asyncio client belongs to this loop: close it with the loop
            await get_async_redis().aclose()

    try:
        asyncio.run(run())
    finally:
        get_async_redis.cache_clear()
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers_out = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    return start["status"], headers_out, content


def signed_headers(trader, method: str, path: str, params, **extra) -> dict[str, str]:
    headers = signing.signed_headers(trader.api.secret, INSTRUCTIONS[(method, path)], params, now_ms(), 5000)
    headers["X-API-Key"] = trader.api.api_key
    return {"Host": "testserver", "Content-Type": "application/json", **headers, **extra}


def via_entry(
    trader, method: str, path: str, body, raw: str | None = None, **extra
) -> tuple[int, dict, dict]:
    text = raw if raw is not None else json.dumps(body)
    status, headers, content = asgi_call(
        method, path, text.encode(), signed_headers(trader, method, path, body, **extra)
    )
    return status, {k: v for k, v in headers.items() if k not in VOLATILE}, json.loads(content)


def via_django(trader, method: str, path: str, body, raw: str | None = None) -> tuple[int, dict, dict]:
    response = trader.api.send(method, path, body, raw=raw)
    headers = {k.lower(): v for k, v in response.headers.items()}
    return response.status_code, headers, response.json()


def same_answer(trader, method: str, path: str, body, raw: str | None = None) -> tuple[int, dict]:
    """Send the request through the view, then through the order entry path: the same answer."""
    expected = via_django(trader, method, path, body, raw)
    got = via_entry(trader, method, path, body, raw)
    assert got == expected
    return got[0], got[2]


# --- refused before the engine: no engine needed ------------------------------------------------


@pytest.mark.parametrize(
    "method, path, body, raw",
    [
        ("POST", "/api/v1/order", {**BID, "price": "1.001"}, None),
        ("POST", "/api/v1/order", {**BID, "colour": "red"}, None),
        ("POST", "/api/v1/order", {**BID, "symbol": "NOPE_USDC"}, None),
        ("POST", "/api/v1/order", {**BID, "quantity": 2.555}, None),
        ("POST", "/api/v1/order", {"side": "Bid"}, None),
        ("POST", "/api/v1/order", [BID], None),
        ("POST", "/api/v1/order", BID, '{"symbol": "SOL_USDC", "symbol": "SOL_USDC"}'),
        ("POST", "/api/v1/order", BID, "{not json"),
        ("POST", "/api/v1/order", {}, ""),
        ("POST", "/api/v1/orders", [BID] * 21, None),
        ("POST", "/api/v1/orders", [], None),
        ("POST", "/api/v1/orders", [BID, {**BID, "price": "-1"}], None),
        ("POST", "/api/v1/orders", BID, None),
        ("DELETE", "/api/v1/order", {"symbol": "SOL_USDC"}, None),
        ("DELETE", "/api/v1/order", {"symbol": "SOL_USDC", "orderId": "x1"}, None),
        ("DELETE", "/api/v1/orders", {}, None),
        ("DELETE", "/api/v1/orders", {"symbol": "SOL_USDC", "extra": 1}, None),
    ],
)
def test_a_request_refused_before_the_engine_gets_the_views_answer(
    alice, sol_usdc, engine_calls, fallbacks, method, path, body, raw
):
    status, _ = same_answer(alice, method, path, body, raw)

    assert status in (400, 404)
    assert fallbacks == [] and engine_calls == []


def test_authentication_failures_get_the_views_answers(alice, bob, sol_usdc, fallbacks):
    via_django(alice, "POST", "/api/v1/order", BID)  # the key is cached, as for a client that trades
    forged = signing.signed_headers(bob.api.secret, "orderExecute", BID, now_ms(), 5000)
    cases = {
        "forged": {"X-Signature": forged["X-Signature"]},
        "expired": {"X-Timestamp": str(now_ms() - 60_000)},
        "bad window": {"X-Window": "0"},
        "not a number": {"X-Timestamp": "12a"},
        "unknown key": {"X-API-Key": signing.generate_keypair()[0]},
        "no signature": {"X-Signature": ""},
    }
    text = json.dumps(BID)
    for name, override in cases.items():
        headers = {**signed_headers(alice, "POST", "/api/v1/order", BID), **override}
        status, _, content = asgi_call("POST", "/api/v1/order", text.encode(), headers)
        response = alice.api.client.post(
            "/api/v1/order",
            data=text,
            content_type="application/json",
            headers={k: v for k, v in headers.items() if k not in ("Host", "Content-Type")},
        )
        assert (status, json.loads(content)) == (response.status_code, response.json()), name
        assert status == 401, name
    assert fallbacks == []


def test_the_rate_limits_count_the_same_and_refuse_the_same(
    alice, sol_usdc, engine_calls, settings, fallbacks
):
    settings.API_RATE_LIMITS = {"key": "3/10s"}
    refused = {**BID, "price": "1.001"}  # refused by validation: counted all the same

    first = via_django(alice, "POST", "/api/v1/order", refused)
    second = via_entry(alice, "POST", "/api/v1/order", refused)
    third = via_entry(alice, "DELETE", "/api/v1/order", {"symbol": "SOL_USDC"})
    over = via_entry(alice, "POST", "/api/v1/order", refused)
    over_django = via_django(alice, "POST", "/api/v1/order", refused)

    assert [first[0], second[0], third[0]] == [400, 400, 400]
    assert over[0] == over_django[0] == 429
    assert over[2]["code"] == over_django[2]["code"] == "TOO_MANY_REQUESTS"
    assert over[1]["retry-after"] == over_django[1]["retry-after"]
    assert set(over[1]) == set(over_django[1])
    assert fallbacks == [] and engine_calls == []


def test_an_order_while_the_engine_is_down_is_refused_with_maintenance(
    alice, sol_usdc, redis_conn, fallbacks
):
    redis_conn.delete(ACCEPTING_KEY)

    status, body = same_answer(alice, "POST", "/api/v1/order", BID)

    assert (status, body["code"]) == (503, "MAINTENANCE")
    assert via_entry(alice, "POST", "/api/v1/order", BID)[1]["retry-after"] == "1"
    assert fallbacks == []


def test_a_cache_miss_reads_the_database_off_the_event_loop(alice, sol_usdc, redis_conn, fallbacks):
    """Nothing cached yet (a fresh key, a market not seen): the ORM runs on an HTTP thread."""
    redis_conn.delete(ACCEPTING_KEY)

    status, _, body = via_entry(alice, "POST", "/api/v1/order", BID)

    assert (status, body["code"]) == (503, "MAINTENANCE")  # authenticated and validated first
    assert fallbacks == []


# --- what goes to Django ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"Accept": "text/html"},
        {"Accept": "application/json; indent=4"},
        {"Content-Type": "text/plain"},
        {"Host": "evil.example"},
    ],
)
def test_a_request_the_path_does_not_answer_as_django_would_goes_to_django(
    alice, sol_usdc, engine_calls, fallbacks, extra
):
    status, _, _ = asgi_call(
        "POST",
        "/api/v1/order",
        json.dumps({**BID, "price": "1.001"}).encode(),
        signed_headers(alice, "POST", "/api/v1/order", {**BID, "price": "1.001"}, **extra),
    )

    assert fallbacks == [("POST", "/api/v1/order")]
    assert status in (400, 406, 415)


def test_requests_without_an_api_key_and_other_routes_go_to_django(alice, sol_usdc, fallbacks):
    asgi_call("POST", "/api/v1/order", b"{}", {"Host": "testserver", "Content-Type": "application/json"})
    asgi_call("GET", "/api/v1/order", b"", signed_headers(alice, "GET", "/api/v1/order", {}))
    asgi_call("GET", "/api/v1/ping", b"", {"Host": "testserver"})

    assert fallbacks == [("POST", "/api/v1/order"), ("GET", "/api/v1/order"), ("GET", "/api/v1/ping")]


def test_the_path_serves_the_views_the_url_conf_names():
    routes = fast.routes()

    assert {key: route.view for key, route in routes.items()} == {
        ("POST", "/api/v1/order"): fast.views.OrderExecuteView,
        ("DELETE", "/api/v1/order"): fast.views.OrderCancelView,
        ("POST", "/api/v1/orders"): fast.views.OrdersExecuteView,
        ("DELETE", "/api/v1/orders"): fast.views.OrdersCancelView,
    }
    assert fast.config().enabled  # with the project's middleware


def test_another_middleware_turns_the_path_off(alice, sol_usdc, settings, fallbacks):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]

    via_entry(alice, "POST", "/api/v1/order", {**BID, "price": "1.001"})

    assert fallbacks == [("POST", "/api/v1/order")]


# --- with the engine ----------------------------------------------------------------------------


def _without_ids(body):
    if isinstance(body, list):
        return [_without_ids(item) for item in body]
    return {k: v for k, v in body.items() if k not in ("id", "createdAt")}


@pytest.mark.services
def test_placing_and_cancelling_answer_as_the_views_do(engine_process, make_trader, fund, fallbacks):
    alice = make_trader("alice")
    fund(alice.user, "USDC", "1000")
    order = {**BID, "clientId": 5}

    by_view = via_django(alice, "POST", "/api/v1/order", order)
    by_entry = via_entry(alice, "POST", "/api/v1/order", {**order, "clientId": 6})
    assert by_entry[0] == by_view[0] == 200
    assert by_entry[1] == by_view[1]
    assert _without_ids(by_entry[2]) == {**_without_ids(by_view[2]), "clientId": 6}

    # a duplicate client id: the engine refuses it
    assert via_entry(alice, "POST", "/api/v1/order", order) == via_django(
        alice, "POST", "/api/v1/order", order
    )

    batch = [{**BID, "clientId": 7}, {**BID, "clientId": 5}, {**BID, "price": "99", "quantity": "1"}]
    status, _, results = via_entry(alice, "POST", "/api/v1/orders", batch)
    assert status == 200
    assert [r["operation"] for r in results] == ["Ok", "Err", "Ok"]

    cancel = {"symbol": "SOL_USDC", "orderId": by_entry[2]["id"]}
    status, _, cancelled = via_entry(alice, "DELETE", "/api/v1/order", cancel)
    assert (status, cancelled["status"], cancelled["id"]) == (200, "Cancelled", by_entry[2]["id"])
    assert via_entry(alice, "DELETE", "/api/v1/order", cancel) == via_django(
        alice, "DELETE", "/api/v1/order", cancel
    )

    status, _, all_cancelled = via_entry(alice, "DELETE", "/api/v1/orders", {"symbol": "SOL_USDC"})
    assert status == 200
    assert sorted(o["clientId"] or 0 for o in all_cancelled) == [0, 5, 7]
    assert fallbacks == []
