"""Commands and events <-> JSON-safe dicts.

A dict has ``"type"`` (the class name) plus the class's fields, all ints, strings, bools or
``None``. ``command_from_dict`` is strict: an unknown type, an unknown or missing field, or a value
of the wrong type raises ``ValueError`` (ints are never bools, strings never numbers), so what
enters the engine's input log is always a well-formed command.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from operator import attrgetter

from . import messages as M

__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "command_to_dict",
    "command_from_dict",
    "event_to_dict",
    "event_from_dict",
]

COMMAND_TYPES = {
    cls.__name__: cls
    for cls in (
        M.AddAsset,
        M.AddMarket,
        M.UpdateMarket,
        M.Deposit,
        M.Withdraw,
        M.PlaceOrder,
        M.CancelOrder,
        M.CancelAll,
    )
}
EVENT_TYPES = {
    cls.__name__: cls
    for cls in (
        M.Rejected,
        M.AssetAdded,
        M.MarketChanged,
        M.Deposited,
        M.Withdrawn,
        M.OrderAccepted,
        M.OrderFilled,
        M.OrderCancelled,
        M.OrderExpired,
        M.Trade,
        M.DepthChanged,
        M.BalanceChanged,
    )
}

_SCALARS = {"int": int, "str": str, "bool": bool}
# Short vocabulary fields, interned on decoding (a small, bounded set of values).
_INTERNED = frozenset(
    {
        "side",
        "order_type",
        "time_in_force",
        "self_trade_prevention",
        "state",
        "market",
        "symbol",
        "asset",
        "base",
        "quote",
    }
)


class _Spec:
    __slots__ = ("name", "names", "getter", "required", "kinds")

    def __init__(self, cls) -> None:
        self.name = cls.__name__
        fs = fields(cls)
        self.names = tuple(f.name for f in fs)
        self.getter = attrgetter(*self.names)
        self.required = frozenset(f.name for f in fs if f.default is MISSING and f.default_factory is MISSING)
        kinds = {}
        for f in fs:
            ann = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
            parts = [p.strip() for p in ann.split("|")]
            optional = "None" in parts
            scalars = [p for p in parts if p != "None"]
            if len(scalars) != 1 or scalars[0] not in _SCALARS:
                raise TypeError(f"unsupported field type {ann!r} in {cls.__name__}.{f.name}")
            kinds[f.name] = (_SCALARS[scalars[0]], optional)
        self.kinds = kinds


_COMMAND_SPECS = {cls: _Spec(cls) for cls in COMMAND_TYPES.values()}
_EVENT_SPECS = {cls: _Spec(cls) for cls in EVENT_TYPES.values()}


def _to_dict(obj, specs: dict) -> dict:
    spec = specs.get(type(obj))
    if spec is None:
        raise ValueError(f"unknown message type {type(obj).__name__}")
    d = dict(zip(spec.names, spec.getter(obj), strict=False))
    d["type"] = spec.name
    return d


def _from_dict(d, types: dict, specs: dict, what: str):
    if not isinstance(d, dict):
        raise ValueError(f"a {what} must be a dict, got {type(d).__name__}")
    name = d.get("type")
    cls = types.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown {what} type {name!r}")
    spec = specs[cls]
    kwargs = {}
    for key, value in d.items():
        if key == "type":
            continue
        kind = spec.kinds.get(key)
        if kind is None:
            raise ValueError(f"unknown field {key!r} for {name}")
        typ, optional = kind
        if value is None:
            if not optional:
                raise ValueError(f"field {key!r} of {name} may not be null")
        elif type(value) is not typ:
            raise ValueError(f"field {key!r} of {name} must be {typ.__name__}, got {type(value).__name__}")
        if key in _INTERNED and typ is str and value is not None:
            value = sys.intern(value)  # lets the engine compare these by identity
        kwargs[key] = value
    missing = spec.required - kwargs.keys()
    if missing:
        raise ValueError(f"missing field(s) for {name}: {', '.join(sorted(missing))}")
    return cls(**kwargs)


def command_to_dict(cmd) -> dict:
    """``{"type": <class name>, <field>: <value>, ...}`` for a command."""
    return _to_dict(cmd, _COMMAND_SPECS)


def command_from_dict(d: dict):
    """The command for a dict from ``command_to_dict`` (or JSON); ``ValueError`` if malformed."""
    return _from_dict(d, COMMAND_TYPES, _COMMAND_SPECS, "command")


def event_to_dict(ev) -> dict:
    """``{"type": <class name>, <field>: <value>, ...}`` for an event."""
    return _to_dict(ev, _EVENT_SPECS)


def event_from_dict(d: dict):
    """The event for a dict from ``event_to_dict``; ``ValueError`` if malformed."""
    return _from_dict(d, EVENT_TYPES, _EVENT_SPECS, "event")
