"""A JSON parser that keeps numbers exact and refuses what JSON does not allow.

DRF's ``JSONParser`` turns ``140.55`` into a float (inexact, and the text the client signed is
lost) and accepts ``NaN``/``Infinity``. Here a number with a fraction or exponent becomes a
``JsonNumber`` holding its exact text, integers stay ``int``, the non-standard constants are a
parse error, and so is a repeated key (two values for one field would let the signed value and
the used value differ).
"""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from accounts.signing import JsonNumber

# Bodies of private requests are small (a batch of 20 orders is a few KB).
MAX_BODY_BYTES = 64 * 1024


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def loads_exact(text: str) -> object:
    """``json.loads`` with exact numbers, no NaN/Infinity and no duplicate keys."""
    return json.loads(
        text,
        parse_float=JsonNumber,
        parse_int=int,
        parse_constant=_reject_constant,
        object_pairs_hook=_unique_keys,
    )


def parse_body(raw: bytes) -> object:
    """A private request's body as ``loads_exact`` reads it; ``ParseError`` (400) when it is too
    large or not JSON. An empty body is an empty object. The DRF parser below and the order
    entry path (``accounts.api.fast``) both read bodies through this."""
    if len(raw) > MAX_BODY_BYTES:
        raise ParseError("Request body too large")
    if not raw.strip():
        return {}
    try:
        return loads_exact(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(f"Malformed JSON body: {exc}") from None


class ExactJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_body(stream.read(MAX_BODY_BYTES + 1) if stream is not None else b"")
