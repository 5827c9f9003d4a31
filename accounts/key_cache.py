"""Each web process's cache of API keys (with their users), kept true across processes.

A database query per signed request would be the largest single cost of an order, so keys are
cached per process. Every change of a key or a user (revoking through the UI, the admin or the
services; deactivating a user) is announced on Redis pub/sub once its transaction commits
(``contract.names.key_changed_channel``), and a process that hears the channel drops what
changed at once, so such a process keeps its keys up to ``LISTENING_TTL_S``. A process that
does not hear it (no event loop to listen on, Redis unreachable, the subscription not yet or no
longer up) keeps them only ``TTL_S``, and a (re)subscribing process drops everything it had
cached, since it cannot know what it missed meanwhile.

A key read from the database while a change was being announced may predate that change: it
is cached only for ``TTL_S``, like one read while not listening.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from time import monotonic

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from contract.names import key_changed_channel
from exchange_site.redis_client import get_redis, new_async_redis

from .models import ApiKey

log = logging.getLogger(__name__)

TTL_S = 2.0
LISTENING_TTL_S = 60.0
EVERY_KEY = "*"  # the message of a change that may concern any key (a user's)
RESUBSCRIBE_DELAY_S = 1.0

_lock = threading.Lock()  # the listener (event loop) and lookups (any thread) change the cache
_keys: dict[str, tuple[float, float, ApiKey]] = {}  # public key -> (cached at, good for, key)
_changes = 0  # changes heard, and every change of the subscription's state: see lookup()
_listening = False
_listener: asyncio.Task | None = None


def lookup(public_key: str) -> ApiKey | None:
    """The key ``public_key`` with its user, from the cache or the database; None if unknown
    (unknown keys are not cached: a new key works at once)."""
    now = monotonic()
    hit = _keys.get(public_key)
    if hit is not None and now - hit[0] < hit[1]:
        return hit[2]
    changes_before, listening = _changes, _listening
    key = ApiKey.objects.select_related("user").filter(public_key=public_key).first()
    if key is not None:
        with _lock:
            heard_all = listening and _listening and _changes == changes_before
            _keys[public_key] = (now, LISTENING_TTL_S if heard_all else TTL_S, key)
    return key


def forget_all() -> None:
    _forget(EVERY_KEY)


def _forget(message: str) -> None:
    global _changes
    with _lock:
        _changes += 1
        if message == EVERY_KEY:
            _keys.clear()
        else:
            _keys.pop(message, None)


def _channel() -> str:
    return key_changed_channel(settings.REDIS_DB)


def _announce(message: str) -> None:
    _forget(message)  # what this process read meanwhile, whether or not it listens
    try:
        get_redis().publish(_channel(), message)
    except redis.RedisError as exc:
        log.warning(
            "API key change not announced (%s): other processes notice within %s s", exc, LISTENING_TTL_S
        )


@receiver(post_save, sender=ApiKey, dispatch_uid="accounts.key_cache.key_saved")
@receiver(post_delete, sender=ApiKey, dispatch_uid="accounts.key_cache.key_deleted")
def _key_changed(instance: ApiKey, **kwargs) -> None:
    _forget(instance.public_key)  # this process at once, in or out of the transaction
    transaction.on_commit(lambda: _announce(instance.public_key))


@receiver(post_save, sender=get_user_model(), dispatch_uid="accounts.key_cache.user_saved")
@receiver(post_delete, sender=get_user_model(), dispatch_uid="accounts.key_cache.user_deleted")
def _user_changed(**kwargs) -> None:
    _forget(EVERY_KEY)
    transaction.on_commit(lambda: _announce(EVERY_KEY))


def listen_in_background() -> None:
    """Hear key changes on the running event loop from now on (one listener per process)."""
    global _listener, _listening
    loop = asyncio.get_running_loop()
    if _listener is None or _listener.done() or _listener.get_loop() is not loop:
        _listening = False  # what a listener on another (closed) loop heard no longer counts
        _listener = loop.create_task(_listen(), name="API key changes")


async def _listen() -> None:
    global _listening
    while True:
        client = new_async_redis()
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(_channel())
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        _forget(message["data"].decode())
                    elif message["type"] == "subscribe":  # heard from now on
                        forget_all()  # whatever changed before was missed
                        _listening = True
        except (redis.RedisError, OSError) as exc:
            log.warning("not hearing API key changes (%s): keys cached %s s meanwhile", exc, TTL_S)
        except Exception:  # noqa: BLE001 - the listener must outlive any surprise
            log.exception("not hearing API key changes: keys cached %s s meanwhile", TTL_S)
        finally:
            _listening = False
            forget_all()
            await client.aclose()
        await asyncio.sleep(RESUBSCRIBE_DELAY_S)
