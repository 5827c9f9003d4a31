"""Commands and events <-> JSON-safe dicts.

A dict has ``"type"`` (the class name) plus the class's fields, all ints, strings, bools or
``None``. ``command_from_dict`` is strict: an unknown type, an unknown or missing field, or a value
of the wrong type raises ``ValueError`` (ints are never bools, strings never numbers), so what
enters the engine's input log is always a well-formed command.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from typing import get_args

from . import messages as M

__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "command_to_dict",
    "command_from_dict",
    "event_to_dict",
    "event_from_dict",
]

COMMAND_TYPES = {cls.__name__: cls for cls in get_args(M.Command)}
EVENT_TYPES = {cls.__name__: cls for cls in get_args(M.Event)}

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


def _dict_maker(name: str, names: tuple[str, ...]):
    """``to_dict(obj)`` for one class, written out as a dict display (``{"seq": o.seq, ...}``),
    as ``dataclasses`` writes out ``__init__``: twice as fast as zipping an ``operator.attrgetter``'s
    tuple, and the engine turns every event it emits into a dict. The names are the class's
    field names, so the source is made of identifiers only."""
    items = "".join(f"{field!r}: o.{field}, " for field in names)
    namespace: dict = {}
    exec(f"def to_dict(o):\n    return {{{items}'type': {name!r}}}\n", namespace)  # noqa: S102
    return namespace["to_dict"]


def _decoder_maker(cls, spec: _Spec):
    """``decode(d)`` for one class, written out field by field: the command for a well-formed
    dict, else ``None`` (and ``_from_dict`` then says what is wrong). Every command the engine
    applies is decoded, and this costs half the generic loop. It accepts exactly what
    ``_from_dict`` accepts (a test compares the two on random dicts)."""
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    if len(defaults) + len(spec.required) != len(spec.names):  # a default_factory: generic only
        return None
    namespace = {
        "cls": cls,
        "allowed": frozenset(spec.names) | {"type"},
        "required": spec.required,
        "defaults": defaults,
        "intern": sys.intern,
    }
    lines = [
        "def decode(d):",
        "    if not (d.keys() <= allowed and d.keys() >= required):",
        "        return None",
    ]
    for name in spec.names:
        typ, optional, interned = spec.checks[name]
        read = f"d[{name!r}]" if name in spec.required else f"d.get({name!r}, defaults[{name!r}])"
        wrong = f"type(v_{name}) is not {typ.__name__}" + (f" and v_{name} is not None" if optional else "")
        lines += [f"    v_{name} = {read}", f"    if {wrong}:", "        return None"]
        if interned:
            lines.append(f"    v_{name} = intern(v_{name}) if v_{name} is not None else None")
    lines.append(f"    return cls({', '.join(f'{n}=v_{n}' for n in spec.names)})")
    exec("\n".join(lines) + "\n", namespace)  # noqa: S102 - identifiers and reprs of field names only
    return namespace["decode"]


class _Spec:
    __slots__ = ("name", "names", "required", "checks", "to_dict")

    def __init__(self, cls) -> None:
        self.name = cls.__name__
        fs = fields(cls)
        self.names = tuple(f.name for f in fs)
        self.to_dict = _dict_maker(self.name, self.names)
        self.required = frozenset(f.name for f in fs if f.default is MISSING and f.default_factory is MISSING)
        # Per field: (type, may be null, intern it), looked up once per key when decoding.
        self.checks: dict[str, tuple[type, bool, bool]] = {}
        for f in fs:
            ann = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
            parts = [p.strip() for p in ann.split("|")]
            scalars = [p for p in parts if p != "None"]
            if len(scalars) != 1 or scalars[0] not in _SCALARS:
                raise TypeError(f"unsupported field type {ann!r} in {cls.__name__}.{f.name}")
            typ = _SCALARS[scalars[0]]
            self.checks[f.name] = (typ, "None" in parts, typ is str and f.name in _INTERNED)


_COMMAND_SPECS = {cls: _Spec(cls) for cls in COMMAND_TYPES.values()}
_COMMAND_DECODERS = {
    cls.__name__: decoder for cls, spec in _COMMAND_SPECS.items() if (decoder := _decoder_maker(cls, spec))
}
_EVENT_SPECS = {cls: _Spec(cls) for cls in EVENT_TYPES.values()}


def _to_dict(obj, specs: dict) -> dict:
    spec = specs.get(type(obj))
    if spec is None:
        raise ValueError(f"unknown message type {type(obj).__name__}")
    return spec.to_dict(obj)


def _from_dict(d, types: dict, specs: dict, what: str):
    # Every command the engine applies comes through here, so the common case (a valid dict)
    # costs one lookup and one type comparison per field; the error messages are worked out
    # only when something is wrong.
    if not isinstance(d, dict):
        raise ValueError(f"a {what} must be a dict, got {type(d).__name__}")
    name = d.get("type")
    cls = types.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown {what} type {name!r}")
    spec = specs[cls]
    checks = spec.checks
    kwargs = {}
    for key, value in d.items():
        check = checks.get(key)
        if check is None:
            if key == "type":
                continue
            raise ValueError(f"unknown field {key!r} for {name}")
        if type(value) is not check[0]:
            if value is not None:
                raise ValueError(
                    f"field {key!r} of {name} must be {check[0].__name__}, got {type(value).__name__}"
                )
            if not check[1]:
                raise ValueError(f"field {key!r} of {name} may not be null")
        elif check[2]:
            value = sys.intern(value)  # lets the engine compare these by identity
        kwargs[key] = value
    if not kwargs.keys() >= spec.required:
        missing = spec.required - kwargs.keys()
        raise ValueError(f"missing field(s) for {name}: {', '.join(sorted(missing))}")
    return cls(**kwargs)


def command_to_dict(cmd) -> dict:
    """``{"type": <class name>, <field>: <value>, ...}`` for a command."""
    return _to_dict(cmd, _COMMAND_SPECS)


def command_from_dict(d: dict):
    """The command for a dict from ``command_to_dict`` (or JSON); ``ValueError`` if malformed."""
    if type(d) is dict:
        name = d.get("type")
        decode = _COMMAND_DECODERS.get(name) if type(name) is str else None
        if decode is not None:
            command = decode(d)
            if command is not None:
                return command
    return _from_dict(d, COMMAND_TYPES, _COMMAND_SPECS, "command")


def event_to_dict(ev) -> dict:
    """``{"type": <class name>, <field>: <value>, ...}`` for an event."""
    return _to_dict(ev, _EVENT_SPECS)


def event_from_dict(d: dict):
    """The event for a dict from ``event_to_dict``; ``ValueError`` if malformed."""
    return _from_dict(d, EVENT_TYPES, _EVENT_SPECS, "event")
