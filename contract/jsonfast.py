"""JSON for the engine's hot paths: orjson, falling back to the standard library to write
integers beyond 64 bits (which orjson refuses). Reading, orjson takes such an integer for a
float: the engine keeps every amount within 64 bits (``engine.core.units.MAX_AMOUNT``), and a
command whose integer was read as a float is refused by the engine's type checks, never
applied rounded."""

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
