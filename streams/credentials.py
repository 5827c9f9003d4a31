"""Ending private subscriptions when what authorized them ends.

A private subscription is checked once, when it is made (``auth``). So that it does not outlive
its credential, the connection also joins a channel-layer group for each thing it rests on: the
user (deactivated), and the API key that signed it (revoked, deleted) or the browser session
(logged out). When one of those ends, the web process where it happened tells the group and
every connection in it closes, wherever it is served.
"""

from __future__ import annotations

import hashlib
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import ApiKey
from contract import frames

log = logging.getLogger(__name__)


def user_group(account: int) -> str:
    return f"credential.user.{account}"


def key_group(public_key: str) -> str:
    return _digest_group("key", public_key)


def session_group(session_key: str) -> str:
    return _digest_group("session", session_key)


def _digest_group(kind: str, secret: str) -> str:
    # Group names allow only a few characters and 100 of them: a digest of the key.
    return f"credential.{kind}.{hashlib.sha256(secret.encode()).hexdigest()[:32]}"


def end(group: str, reason: str) -> None:
    """Close every connection whose private streams rest on ``group``, once the change that
    ended it is committed."""

    def send() -> None:
        try:
            failed = async_to_sync(frames.send)(get_channel_layer(), {group: frames.ended_message(reason)})
        except Exception as exc:  # the change itself stands: never fail a revocation on this
            failed = {group: exc}
        for exc in failed.values():
            log.error("could not end the private streams of %s: %s", group, exc)

    transaction.on_commit(send)


@receiver(post_save, sender=ApiKey, dispatch_uid="streams.credentials.key_saved")
def _key_saved(instance: ApiKey, **kwargs) -> None:
    if instance.revoked:
        end(key_group(instance.public_key), "API key revoked")


@receiver(post_delete, sender=ApiKey, dispatch_uid="streams.credentials.key_deleted")
def _key_deleted(instance: ApiKey, **kwargs) -> None:
    end(key_group(instance.public_key), "API key deleted")


@receiver(post_save, sender=get_user_model(), dispatch_uid="streams.credentials.user_saved")
def _user_saved(instance, **kwargs) -> None:
    if not instance.is_active:
        end(user_group(instance.pk), "account disabled")


@receiver(user_logged_out, dispatch_uid="streams.credentials.logged_out")
def _logged_out(request, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        end(session_group(session_key), "logged out")
