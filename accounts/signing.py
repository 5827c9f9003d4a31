"""Ed25519 request signing, exactly as shared/API.md describes it.

An API key is the base64 of a 32-byte Ed25519 public key; the secret is the base64 of the
32-byte private seed. A request is signed over a signing string built from an *instruction*
(named per method and path), the request's parameters sorted by key, and the timestamp and
window. This module is pure (no Django, no I/O) so clients, tests and the benchmark build
exactly the same strings the server checks.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

DEFAULT_WINDOW_MS = 5000
MAX_WINDOW_MS = 60000


@dataclass(frozen=True, slots=True)
class JsonNumber:
    """A JSON number with a fraction or exponent, kept as the exact text that was sent.

    A float would lose the value (``0.1``) and the text a client signed (``1.50``), so the
    request parser keeps the text; signing renders it verbatim and order parsing applies the
    same strict decimal rules as to a string.
    """

    text: str

    def __str__(self) -> str:
        return self.text


def render_value(value: object) -> str:
    """A parameter value as it appears in the signing string."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    # Nested objects are not part of any instruction's parameters; render them as compact
    # JSON so the string is still deterministic (the request is then rejected as invalid).
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _pairs(params: Mapping[str, object]) -> str:
    return "&".join(f"{k}={render_value(params[k])}" for k in sorted(params))


def signing_string(instruction: str, params: Mapping[str, object] | None, timestamp: int, window: int) -> str:
    """``instruction=<i>&<sorted k=v>&timestamp=<ts>&window=<w>`` (no pairs: no middle part)."""
    middle = _pairs(params) if params else ""
    head = f"instruction={instruction}&{middle}&" if middle else f"instruction={instruction}&"
    return f"{head}timestamp={timestamp}&window={window}"


def batch_signing_string(
    instruction: str, items: Sequence[Mapping[str, object]], timestamp: int, window: int
) -> str:
    """The batch form: ``instruction=<i>&<sorted k=v>&`` per item, then timestamp and window."""
    parts = []
    for item in items:
        pairs = _pairs(item)
        parts.append(f"instruction={instruction}&{pairs}&" if pairs else f"instruction={instruction}&")
    return "".join(parts) + f"timestamp={timestamp}&window={window}"


def generate_keypair() -> tuple[str, str]:
    """A new ``(api_key, secret)`` pair, both base64."""
    key = SigningKey.generate()
    return (
        base64.b64encode(bytes(key.verify_key)).decode(),
        base64.b64encode(bytes(key)).decode(),
    )


@functools.lru_cache(maxsize=1024)
def _signing_key(secret: str) -> SigningKey:
    # Deriving the key pair from the seed costs as much as a signature: a client signing every
    # request (the simulator, bench/order_load.py) derives it once per key.
    return SigningKey(base64.b64decode(secret))


def public_key_of(secret: str) -> str:
    return base64.b64encode(bytes(_signing_key(secret).verify_key)).decode()


def sign(secret: str, message: str) -> str:
    """base64 of the 64-byte Ed25519 signature of ``message`` with the base64 seed ``secret``."""
    signed = _signing_key(secret).sign(message.encode())
    return base64.b64encode(signed.signature).decode()


def decode_public_key(api_key: str) -> bytes | None:
    """The 32 raw bytes of a base64 public key, or ``None`` if it is not one."""
    try:
        raw = base64.b64decode(api_key, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def verify(api_key: str, signature: str, message: str) -> bool:
    """True if ``signature`` (base64) is ``api_key``'s signature of ``message``."""
    raw_key = decode_public_key(api_key)
    if raw_key is None:
        return False
    try:
        raw_sig = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw_sig) != 64:
        return False
    try:
        VerifyKey(raw_key).verify(message.encode(), raw_sig)
    except (BadSignatureError, ValueError):
        return False
    return True


def signed_headers(
    secret: str,
    instruction: str,
    params: Mapping[str, object] | Sequence[Mapping[str, object]] | None,
    timestamp: int,
    window: int = DEFAULT_WINDOW_MS,
) -> dict[str, str]:
    """The four authentication headers of a request (what a client library does)."""
    if isinstance(params, Sequence) and not isinstance(params, str | bytes):
        message = batch_signing_string(instruction, params, timestamp, window)
    else:
        message = signing_string(instruction, params, timestamp, window)
    return {
        "X-API-Key": public_key_of(secret),
        "X-Timestamp": str(timestamp),
        "X-Window": str(window),
        "X-Signature": sign(secret, message),
    }
