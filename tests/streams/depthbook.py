"""A client's local order book kept from a REST snapshot plus depth events, by the documented
procedure (shared/API.md): buffer events, fetch ``/api/v1/depth``, drop events with
``u <= lastUpdateId``, apply the rest; each event's ``U`` is the previous event's ``u`` + 1,
so a missing event shows as a gap."""

from __future__ import annotations

from decimal import Decimal


class DepthGap(Exception):
    def __init__(self, expected_first: int, event: dict):
        super().__init__(
            f"gap: expected an event starting at {expected_first}, got U={event['U']} u={event['u']}"
        )
        self.expected_first = expected_first
        self.event = event


class DepthBook:
    def __init__(self, snapshot: dict):
        self.bids: dict[str, str] = {px: qty for px, qty in snapshot["bids"]}
        self.asks: dict[str, str] = {px: qty for px, qty in snapshot["asks"]}
        self.last_update_id = int(snapshot["lastUpdateId"])
        self.synced = False  # True once an event continued the snapshot

    def apply(self, event: dict) -> bool:
        """Apply one event; False if it is older than the book, ``DepthGap`` if one is missing."""
        if event["u"] <= self.last_update_id:
            return False
        expected = self.last_update_id + 1
        # The first event after the snapshot may straddle it; every later one starts exactly after.
        if (event["U"] > expected) if not self.synced else (event["U"] != expected):
            raise DepthGap(expected, event)
        for side, levels in ((self.bids, event["b"]), (self.asks, event["a"])):
            for px, qty in levels:
                if Decimal(qty) == 0:
                    side.pop(px, None)
                else:
                    side[px] = qty
        self.last_update_id = event["u"]
        self.synced = True
        return True

    def apply_all(self, events: list[dict]) -> int:
        return sum(self.apply(e) for e in events)

    def levels(self) -> dict:
        """Both sides ascending by price, as ``/api/v1/depth`` has them."""

        def ascending(side: dict[str, str]) -> list[list[str]]:
            return [[px, side[px]] for px in sorted(side, key=Decimal)]

        return {"bids": ascending(self.bids), "asks": ascending(self.asks)}
