"""The exchange's matching engine core: pure Python, deterministic, no Django, no I/O, no clock.

``Engine.apply(command) -> list[Event]``; commands and events are in ``messages``.
"""

from . import messages as _messages
from .book import Order, order_view
from .codec import command_from_dict, command_to_dict, event_from_dict, event_to_dict
from .engine import Engine, order_reserve
from .market import Market
from .messages import *  # noqa: F403 - the message contract is part of this package's API
from .snapshot import SnapshotError

__all__ = [
    "Engine",
    "Market",
    "Order",
    "SnapshotError",
    "order_reserve",
    "order_view",
    "command_from_dict",
    "command_to_dict",
    "event_from_dict",
    "event_to_dict",
] + [n for n in vars(_messages) if not n.startswith("_") and n not in ("annotations", "dataclass")]
