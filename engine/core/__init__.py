"""The exchange's matching engine core: pure Python, deterministic, no Django, no I/O, no clock.

``Engine.apply(command) -> list[Event]``; commands and events are in ``messages``.
"""

from . import native as _native

_native.select()  # compiled modules (scripts/build_core.py) only if built from these very sources

from . import messages as _messages  # noqa: E402
from .book import Order, order_view  # noqa: E402
from .codec import command_from_dict, command_to_dict, event_from_dict, event_to_dict  # noqa: E402
from .engine import Engine, order_reserve  # noqa: E402
from .market import Market  # noqa: E402
from .messages import *  # noqa: E402, F403 - the message contract is part of this package's API
from .snapshot import SnapshotError  # noqa: E402

__all__ = [
    "Engine",
    "Market",
    "Order",
    "SnapshotError",
    "order_reserve",
    "order_view",
    "NATIVE",
    "command_from_dict",
    "command_to_dict",
    "event_from_dict",
    "event_to_dict",
] + [n for n in vars(_messages) if not n.startswith("_") and n not in ("annotations", "dataclass", "Final")]

NATIVE = _native.MODE  # "compiled", "pure" or "pure (stale build ignored)"
