"""API-key authentication for the private endpoints (Ed25519 signatures, shared/API.md).

The view names its instruction (``signing_instruction``); the signed parameters are the query
string for GET and the top-level keys of the JSON body otherwise (a JSON array body, the batch
order endpoint, uses the batch form). A request without ``X-API-Key`` is left to the next
authentication class (the browser's session, which enforces CSRF), so browser and programs use
the same endpoints.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from . import error_codes as errors
from . import key_cache, signing
from .models import ApiKey

# ``last_used_at`` is informational: write it at most once a minute per key, not per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _int_header(request, meta_name: str, header: str, default: int | None = None) -> int:
    raw = request.META.get(meta_name)
    if raw is None or raw == "":
        if default is None:
            raise errors.invalid_signature(f"Missing {header} header")
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        raise errors.invalid_signature(f"Invalid {header} header: expected an integer")
    return int(raw)


def signed_message(request, instruction: str, timestamp: int, window: int) -> str:
    """The signing string of ``request`` as the server sees it."""
    if request.method in ("GET", "HEAD"):
        params = {}
        for key, values in request.query_params.lists():
            if len(values) != 1:
                raise errors.bad_request(f"Parameter {key} given more than once")
            params[key] = values[0]
        return signing.signing_string(instruction, params, timestamp, window)
    body = request.data
    if isinstance(body, list):
        if not all(isinstance(item, dict) for item in body):
            raise errors.bad_request("Each element of the request body must be a JSON object")
        return signing.batch_signing_string(instruction, body, timestamp, window)
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object")
    return signing.signing_string(instruction, body, timestamp, window)


def verify_signature(request, instruction: str) -> tuple[object, ApiKey]:
    """``(user, key)`` of a request that carries ``X-API-Key``; an ``ApiError`` (401, or 400 for a
    body that is not a JSON object) on any mismatch. ``request`` needs ``method``, ``META``,
    ``data`` and, for GET, ``query_params``: a DRF request, or the order entry path's own
    (``accounts.api.fast``), so that both check signatures with this one function."""
    api_key = request.META.get("HTTP_X_API_KEY")
    timestamp = _int_header(request, "HTTP_X_TIMESTAMP", "X-Timestamp")
    window = _int_header(request, "HTTP_X_WINDOW", "X-Window", default=signing.DEFAULT_WINDOW_MS)
    if not 0 < window <= signing.MAX_WINDOW_MS:
        raise errors.invalid_signature(f"Invalid X-Window: must be between 1 and {signing.MAX_WINDOW_MS} ms")
    # Outside the window on either side: a replay of an old request, or a clock far off.
    if abs(now_ms() - timestamp) > window:
        raise errors.invalid_signature("Request expired: X-Timestamp is outside the X-Window")
    signature = request.META.get("HTTP_X_SIGNATURE")
    if not signature:
        raise errors.invalid_signature("Missing X-Signature header")

    key = key_cache.lookup(api_key)
    if key is None:
        raise errors.unauthorized("Unknown API key")
    if key.revoked:
        raise errors.unauthorized("API key revoked")
    if not key.user.is_active:
        raise errors.unauthorized("Account disabled")

    message = signed_message(request, instruction, timestamp, window)
    if not signing.verify(api_key, signature, message):
        raise errors.invalid_signature("Invalid signature")

    _touch(key)
    return key.user, key


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class SignatureAuthentication(BaseAuthentication):
    """``X-API-Key`` / ``X-Timestamp`` / ``X-Window`` / ``X-Signature``; 401 on any mismatch."""

    def authenticate(self, request):
        api_key = request.META.get("HTTP_X_API_KEY")
        if not api_key:
            return None
        view = request.parser_context.get("view") if request.parser_context else None
        instruction = getattr(view, "signing_instruction", None)
        if instruction is None:
            raise errors.unauthorized("This endpoint does not accept API keys")
        return verify_signature(request, instruction)

    def authenticate_header(self, request) -> str:
        # Having a header makes DRF answer an unauthenticated request with 401, not 403.
        return 'Signature realm="api", headers="X-API-Key X-Timestamp X-Window X-Signature"'
