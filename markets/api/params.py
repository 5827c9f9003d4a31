"""Query-parameter parsing for the public market-data endpoints.

Strict on purpose: a parameter is ASCII digits or it is an error, because Python's ``int()``
also accepts ``" 5"``, ``"5_000"`` and non-ASCII digits, none of which a client should rely on.
Every failure is a 400 with a contract code, never a 500 from further down.
"""

from __future__ import annotations

import re

from django.http import QueryDict

from markets import error_codes

_DIGITS = re.compile(r"[0-9]{1,20}\Z")


def required(params: QueryDict, name: str) -> str:
    """A parameter that must be present and non-empty."""
    value = params.get(name)
    if value is None or value == "":
        raise error_codes.missing_parameter(name)
    return value


def integer(params: QueryDict, name: str, *, default: int | None, minimum: int, maximum: int) -> int | None:
    """A non-negative integer in [minimum, maximum]; ``default`` when absent (``None`` = optional).
    Present but empty (``limit=``) is an error, as the schema says: not silently the default."""
    raw = params.get(name)
    if raw is None:
        return default
    if not _DIGITS.match(raw):
        raise error_codes.invalid_parameter(name, f"{raw[:40]!r} is not a non-negative integer")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise error_codes.invalid_parameter(name, f"{value} is outside [{minimum}, {maximum}]")
    return value


def required_integer(params: QueryDict, name: str, *, minimum: int, maximum: int) -> int:
    required(params, name)
    return integer(params, name, default=None, minimum=minimum, maximum=maximum)
