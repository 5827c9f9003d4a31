"""The client side of the websocket protocol (shared/API.md, "Websocket"): parsing frames.

A client frame is a JSON object ``{"method": "SUBSCRIBE"|"UNSUBSCRIBE", "params": [names...],
"id": <optional>, "signature": [key, signature, timestamp, window]}``; unknown keys are
ignored. Anything else is answered with one error frame and changes nothing. Pure: no Django,
no I/O, so every rule here is tested without a socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson

ERROR_CODE = 4006  # the only code the wire uses for websocket failures
SUBSCRIBE = "SUBSCRIBE"
UNSUBSCRIBE = "UNSUBSCRIBE"
METHODS = (SUBSCRIBE, UNSUBSCRIBE)
MAX_FRAME_CHARS = 64 * 1024  # a subscribe frame is small; a huge one is abuse, not a request


class ProtocolError(Exception):
    """A client frame that fails: becomes ``{"id": request_id, "error": {...}}``."""

    def __init__(self, message: str, request_id: int | str | None = None):
        super().__init__(message)
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Signature:
    api_key: str
    signature: str
    timestamp: int  # ms
    window: int  # ms


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    params: tuple[str, ...]
    id: int | str | None
    signature: Signature | None


def data_frame(stream: str, data: dict) -> str:
    """A server frame ``{"stream": <name as subscribed>, "data": {...}}``."""
    try:
        return orjson.dumps({"stream": stream, "data": data}).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits; never lose a frame over it
        return json.dumps({"stream": stream, "data": data}, separators=(",", ":"))


def error_frame(request_id: int | str | None, message: str) -> str:
    return json.dumps({"id": request_id, "error": {"code": ERROR_CODE, "message": message}})


def _request_id(frame: dict) -> int | str | None:
    """The id to echo: only a plain integer or string (a bool is not an id)."""
    value = frame.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return value


def _int_field(value: object) -> int | None:
    """Clients send timestamp and window as strings or as JSON integers; accept both."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        return int(value)
    return None


def parse_signature(value: object, request_id: int | str | None) -> Signature | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) not in (3, 4):
        raise ProtocolError("Invalid signature: expected [apiKey, signature, timestamp, window]", request_id)
    api_key, signature = value[0], value[1]
    timestamp = _int_field(value[2])
    window = _int_field(value[3]) if len(value) == 4 else 5000
    if not isinstance(api_key, str) or not isinstance(signature, str) or timestamp is None or window is None:
        raise ProtocolError("Invalid signature: expected [apiKey, signature, timestamp, window]", request_id)
    return Signature(api_key, signature, timestamp, window)


def parse_request(raw: str | bytes | None) -> Request:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode()
        except UnicodeDecodeError:
            raise ProtocolError("Invalid frame: not UTF-8 JSON") from None
    if raw is None or len(raw) > MAX_FRAME_CHARS:
        raise ProtocolError("Invalid frame: too large")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise ProtocolError("Invalid frame: not JSON") from None
    if not isinstance(frame, dict):
        raise ProtocolError("Invalid frame: expected a JSON object")
    request_id = _request_id(frame)
    method = frame.get("method")
    if method is None:
        raise ProtocolError("Invalid frame: missing method", request_id)
    if method not in METHODS:
        raise ProtocolError(
            f"Invalid method: {str(method)[:32]!r}; expected SUBSCRIBE or UNSUBSCRIBE", request_id
        )
    params = frame.get("params")
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise ProtocolError("Invalid params: expected a list of stream names", request_id)
    signature = parse_signature(frame.get("signature"), request_id)
    # Duplicates in one frame are one subscription; keep the client's order otherwise.
    return Request(method, tuple(dict.fromkeys(params)), request_id, signature)
