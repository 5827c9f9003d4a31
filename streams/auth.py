"""Who may subscribe to private streams: an Ed25519-signed subscribe frame, or a browser session.

Signing string: ``instruction=subscribe&timestamp=<ts>&window=<window>`` (shared/API.md), checked
with the same rules as the REST headers: window 1..60000 ms, timestamp within the window of the
server clock on either side, a known and unrevoked key of an active user. The signing string
and the Ed25519 check are ``accounts.signing``'s, the same as for REST.
"""

from __future__ import annotations

import time
from importlib import import_module
from urllib.parse import urlsplit

from channels.auth import get_user
from channels.db import database_sync_to_async
from django.http.cookie import parse_cookie

from accounts import signing
from streams.protocol import ProtocolError, Signature

INSTRUCTION = "subscribe"
MAX_WINDOW_MS = signing.MAX_WINDOW_MS


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def signing_string(timestamp: int, window: int) -> str:
    return signing.signing_string(INSTRUCTION, None, timestamp, window)


def check_signature(sig: Signature, request_id: int | str | None, now: int | None = None) -> None:
    """The checks that need no database: window, freshness, the signature itself."""
    if not 0 < sig.window <= MAX_WINDOW_MS:
        raise ProtocolError(f"Invalid signature: window must be between 1 and {MAX_WINDOW_MS} ms", request_id)
    now = now_ms() if now is None else now
    if abs(now - sig.timestamp) > sig.window:
        # Outside the window on either side: a replayed frame, or a clock far off.
        raise ProtocolError("Invalid signature: timestamp is outside the window", request_id)
    if not signing.verify(sig.api_key, sig.signature, signing_string(sig.timestamp, sig.window)):
        raise ProtocolError("Invalid signature", request_id)


def _account_of_key(api_key: str) -> int | str:
    """The user id owning ``api_key``, or the reason it may not be used."""
    from accounts.models import ApiKey

    key = ApiKey.objects.select_related("user").filter(public_key=api_key).first()
    if key is None:
        return "Invalid signature: unknown API key"
    if key.revoked:
        return "Invalid signature: API key revoked"
    if not key.user.is_active:
        return "Invalid signature: account disabled"
    return key.user_id


async def authenticate(sig: Signature, request_id: int | str | None) -> int:
    """The account id a signed subscribe frame speaks for; ``ProtocolError`` otherwise."""
    check_signature(sig, request_id)
    account = await database_sync_to_async(_account_of_key)(sig.api_key)
    if isinstance(account, str):
        raise ProtocolError(account, request_id)
    return account


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def same_origin(scope: dict) -> bool:
    """True if the page that opened the socket is ours: its Origin is this server's host (or a
    trusted origin). Browsers send the session cookie with a websocket from *any* page, so
    without this another site could read a logged-in user's orders (cross-site websocket
    hijacking). Public streams stay open to every origin, as Backpack's are."""
    from django.conf import settings

    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    if origin is None:
        return False
    if origin in getattr(settings, "CSRF_TRUSTED_ORIGINS", ()):
        return True
    return host is not None and urlsplit(origin).netloc == host


def session_key(scope: dict) -> str | None:
    from django.conf import settings

    return parse_cookie(_header(scope, b"cookie") or "").get(settings.SESSION_COOKIE_NAME) or None


async def session_account(scope: dict) -> int | None:
    """The logged-in browser user's account, from the session cookie, when the page is ours:
    the trading UI subscribes to its private streams without a key.

    Looked up here, when a private stream is asked for without a signature, rather than by
    Channels' ``AuthMiddlewareStack`` at every connect: that stack costs a session and user
    query per connection, and wraps the ASGI ``send`` of every frame of every public stream in
    three more layers (measured at a tenth of the web process's CPU in bench/ws_fanout.py)."""
    from django.conf import settings

    if not same_origin(scope):
        return None
    key = session_key(scope)
    if key is None:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = await get_user({"session": session})
    return user.pk if user.is_authenticated and user.is_active else None
