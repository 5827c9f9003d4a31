"""The stream-name grammar: what a subscription name means and which group feeds it.

Public streams are fed by the channel-layer group of the same name (``engine.publisher`` sends
to exactly these names). Private streams are fed by the account's group, whose frames are
labelled ``account.orderUpdate``/``account.balanceUpdate`` for every market; a subscription
to ``account.orderUpdate.SOL_USDC`` takes only that market's frames and relabels them.
A well-formed name we do not serve (``account.rfqUpdate``, ``markPrice.SOL_USDC``) is
accepted and simply never fed, as the wire contract asks. Pure: no Django, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streams.protocol import ProtocolError

# The REST klines intervals of shared/API.md (the candle builder publishes one stream each).
KLINE_INTERVALS = frozenset(
    ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1month")
)
DEPTH_INTERVALS = frozenset(("200ms", "1000ms"))
MARKET_STREAMS = frozenset(("trade", "ticker", "bookTicker"))
ORDER_UPDATE = "account.orderUpdate"
BALANCE_UPDATE = "account.balanceUpdate"
MAX_NAME_CHARS = 96  # channels' group names must stay under 100 characters

_WELL_FORMED = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9_]+)*")


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One subscribable name.

    ``name``: as the client wrote it, the label of every frame it gets.
    ``source``: the ``stream`` field of the channel-layer frames that feed it (``None``: never fed).
    ``market``: the market the name refers to, which must exist; for a private stream also the
    filter on ``data["s"]``.
    """

    name: str
    source: str | None
    market: str | None = None
    private: bool = False

    def group(self, account: int | None) -> str | None:
        """The channel-layer group to join (private groups are per account, as the publisher names them)."""
        if self.source is None:
            return None
        if self.private:
            return f"{self.source}.{account}"
        return self.source

    def wants(self, data: dict) -> bool:
        return not (self.private and self.market is not None and data.get("s") != self.market)


def is_private_group(group: str) -> bool:
    return group.startswith("account.")


def _invalid(name: str, request_id: int | str | None) -> ProtocolError:
    return ProtocolError(f"Invalid stream: {name[:MAX_NAME_CHARS]!r}", request_id)


def parse_stream(name: str, request_id: int | str | None = None) -> StreamSpec:
    """The spec of ``name``, or ``ProtocolError`` for a name that is not a stream at all or is one
    of ours in the wrong shape (``depth.500ms.X``, ``kline.7m.X``, ``trade``)."""
    if len(name) > MAX_NAME_CHARS or not _WELL_FORMED.fullmatch(name):
        raise _invalid(name, request_id)
    parts = name.split(".")
    kind = parts[0]
    if kind == "depth":
        if len(parts) == 2:
            return StreamSpec(name, name, parts[1])
        if len(parts) == 3 and parts[1] in DEPTH_INTERVALS:
            return StreamSpec(name, name, parts[2])
        raise _invalid(name, request_id)
    if kind in MARKET_STREAMS:
        if len(parts) == 2:
            return StreamSpec(name, name, parts[1])
        raise _invalid(name, request_id)
    if kind == "kline":
        if len(parts) == 3 and parts[1] in KLINE_INTERVALS:
            return StreamSpec(name, name, parts[2])
        raise _invalid(name, request_id)
    if kind == "account":
        if len(parts) < 2:
            raise _invalid(name, request_id)
        base = f"account.{parts[1]}"
        if base == ORDER_UPDATE and len(parts) in (2, 3):
            return StreamSpec(name, ORDER_UPDATE, parts[2] if len(parts) == 3 else None, private=True)
        if base == BALANCE_UPDATE and len(parts) == 2:
            return StreamSpec(name, BALANCE_UPDATE, None, private=True)
        if base in (ORDER_UPDATE, BALANCE_UPDATE):
            raise _invalid(name, request_id)
        return StreamSpec(name, None)  # another account stream (rfqUpdate, positionUpdate, ...)
    return StreamSpec(name, None)  # a well-formed stream this exchange does not serve
