"""The persistence batch as it travels from the engine to a Celery worker.

A batch is packed by event type: ``{"v": 2, "fields": {type: [name, ...]}, "rows": {type:
[[value, ...], ...]}}``, one row per event in the engine's field order, and only the event types
persistence writes. Against a list of ``event_to_dict`` dicts this drops every key from every
event: the batch is about a third of the size, and a worker decodes lists of scalars twice as
fast as dicts.

The field names travel with the batch, so a worker reads rows by name, whatever order the
engine that packed them used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from operator import itemgetter
from typing import Any

from engine.core.codec import EVENT_TYPES

FORMAT = 2
ORDER_EVENTS = frozenset(
    {"OrderAccepted", "OrderFilled", "OrderCancelled", "OrderExpired", "OrderTriggered", "OrderTriggerFailed"}
)
PERSISTED_EVENTS = ORDER_EVENTS | {"Trade", "Deposited", "Withdrawn"}

_FIELDS = {name: [f.name for f in fields(EVENT_TYPES[name])] for name in PERSISTED_EVENTS}
_GETTERS = {name: itemgetter(*names) for name, names in _FIELDS.items()}

Packed = dict[str, Any]


def pack(events: Sequence[Mapping[str, Any]]) -> Packed:
    """The batch of ``events`` (``event_to_dict`` dicts, in seq order) to hand to Celery."""
    by_kind: dict[str, list] = defaultdict(list)
    for ev in events:
        by_kind[ev["type"]].append(ev)
    getters = _GETTERS
    rows = {kind: list(map(getters[kind], group)) for kind, group in by_kind.items() if kind in getters}
    return {"v": FORMAT, "fields": {kind: _FIELDS[kind] for kind in rows}, "rows": rows}


def is_packed(batch: Any) -> bool:
    return isinstance(batch, dict) and batch.get("v") == FORMAT


def count(batch: Packed) -> int:
    return sum(len(r) for r in batch["rows"].values())


def rows_of(
    batch: Packed, kind: str, names: Sequence[str], optional: frozenset[str] = frozenset()
) -> Iterator[tuple]:
    """The rows of event type ``kind`` as tuples of the fields ``names``, in that order; a field
    in ``optional`` that the batch lacks is None."""
    rows = batch["rows"].get(kind)
    if not rows:
        return iter(())
    position = {name: i for i, name in enumerate(batch["fields"][kind])}
    missing = [n for n in names if n not in position]
    if set(missing) - optional:
        raise ValueError(f"a packed {kind} lacks {[n for n in missing if n not in optional]}")
    if missing:
        width = len(batch["fields"][kind])
        position.update((name, width) for name in missing)
        rows = [(*row, None) for row in rows]
    pick = itemgetter(*(position[n] for n in names))
    return map(pick, rows)
