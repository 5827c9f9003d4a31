"""JSON for the engine's hot paths: orjson, falling back to the standard library for integers
beyond 64 bits (which orjson refuses), so no value is ever lost or rounded."""

from __future__ import annotations

import json

import orjson


def dumps(obj) -> bytes:
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, separators=(",", ":")).encode()


def loads(data: bytes | str):
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
