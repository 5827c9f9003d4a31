"""The web processes' API-key cache: a process that hears key changes keeps its keys long and
drops a changed one at once; one that does not keeps them only for a moment."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from accounts import key_cache, services, signing
from exchange_site.redis_client import get_redis
from tests.conftest import ROOT, subprocess_env, wait_until

from .conftest import now_ms

pytestmark = pytest.mark.services


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved on by hand."""
    now = [1000.0]
    monkeypatch.setattr(key_cache, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def listening(redis_conn):
    """This process hears key changes, on an event loop of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    loop.call_soon_threadsafe(key_cache.listen_in_background)
    wait_until(lambda: key_cache._listening, 10, "the key cache to listen")
    yield
    asyncio.run_coroutine_threadsafe(_stop(key_cache._listener), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    key_cache._listener = None


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_a_listening_process_keeps_a_key_past_the_short_lifetime(
    alice, listening, clock, django_assert_num_queries
):
    with django_assert_num_queries(1):
        key_cache.lookup(alice.key.public_key)
    clock[0] += key_cache.LISTENING_TTL_S - 1

    with django_assert_num_queries(0):
        assert key_cache.lookup(alice.key.public_key).pk == alice.key.pk


def test_a_listening_process_reads_a_key_again_after_the_long_lifetime(
    alice, listening, clock, django_assert_num_queries
):
    key_cache.lookup(alice.key.public_key)
    clock[0] += key_cache.LISTENING_TTL_S

    with django_assert_num_queries(1):
        key_cache.lookup(alice.key.public_key)


def test_a_process_not_listening_reads_a_key_again_after_the_short_lifetime(
    alice, clock, django_assert_num_queries
):
    key_cache.lookup(alice.key.public_key)
    clock[0] += key_cache.TTL_S

    with django_assert_num_queries(1):
        key_cache.lookup(alice.key.public_key)


def test_a_change_announced_by_another_process_drops_the_key_at_once(
    alice, bob, listening, clock, django_assert_num_queries
):
    key_cache.lookup(alice.key.public_key)
    key_cache.lookup(bob.key.public_key)

    get_redis().publish(key_cache._channel(), alice.key.public_key)  # as another process does

    wait_until(lambda: alice.key.public_key not in key_cache._keys, 5, "alice's key to be dropped")
    with django_assert_num_queries(0):
        key_cache.lookup(bob.key.public_key)


def test_a_change_of_any_user_drops_every_key(alice, bob, listening):
    key_cache.lookup(alice.key.public_key)
    key_cache.lookup(bob.key.public_key)

    get_redis().publish(key_cache._channel(), key_cache.EVERY_KEY)

    wait_until(lambda: not key_cache._keys, 5, "every key to be dropped")


def _order_history(url: str, key, secret: str) -> tuple[int, dict]:
    headers = signing.signed_headers(secret, "orderHistoryQueryAll", {}, now_ms())
    headers["X-API-Key"] = key.public_key
    request = urllib.request.Request(f"{url}/wapi/v1/history/orders", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_key_revoked_is_refused_by_a_running_web_server_at_once(web_server, django_user_model, redis_conn):
    user = django_user_model.objects.create_user(username="revoker", password="pw-revoker")
    key, secret = services.create_api_key(user, "soon revoked")
    channel = key_cache._channel()
    wait_until(lambda: redis_conn.pubsub_numsub(channel)[0][1] >= 1, 10, "the web server to hear key changes")
    assert _order_history(web_server.url, key, secret)[0] == 200  # now cached

    services.revoke_api_key(user, key.pk)

    # Kept for up to a minute, yet refused at once (well before the short lifetime of a key
    # in a process that does not hear changes).
    answers: list[tuple[int, dict]] = []

    def refused() -> bool:
        answers.append(_order_history(web_server.url, key, secret))
        return answers[-1][0] == 401

    wait_until(refused, key_cache.TTL_S / 2, "the revoked key to be refused")
    assert answers[-1] == (401, {"code": "UNAUTHORIZED", "message": "API key revoked"})


REVOKE = """
import django
django.setup()
from accounts import services
from accounts.models import ApiKey
key = ApiKey.objects.get(public_key={public_key!r})
services.revoke_api_key(key.user, key.pk)
"""


def test_a_key_revoked_by_any_process_is_announced(transactional_db, django_user_model, redis_conn):
    """Whatever the process (a shell, a management command): not only those that authenticate."""
    user = django_user_model.objects.create_user(username="shell-revoked", password="pw-shell-revoked")
    key, _ = services.create_api_key(user, "revoked from a shell")
    listener = redis_conn.pubsub()
    listener.subscribe(key_cache._channel())
    wait_until(lambda: listener.get_message(timeout=0.1), 5, "the subscription")  # its confirmation

    env = subprocess_env(DJANGO_SETTINGS_MODULE="exchange_site.settings")
    code = REVOKE.format(public_key=key.public_key)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)

    message = wait_until(lambda: listener.get_message(timeout=0.1), 5, "the announcement")
    assert message["data"] == key.public_key.encode()
    listener.close()
