"""One connection's subscriptions: which groups it must be in, and which frames it sends.

Changes are planned first and applied only when the whole client frame is valid, so a frame
that fails changes nothing. Routing is by the frame's ``stream`` field: one channel-layer
frame can feed several subscriptions (``account.orderUpdate`` and
``account.orderUpdate.SOL_USDC`` both read the account's order group). Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from streams.names import StreamSpec
from streams.protocol import ProtocolError, data_frame

MAX_STREAMS_PER_CONNECTION = 50


class Subscriptions:
    def __init__(self, limit: int = MAX_STREAMS_PER_CONNECTION):
        self.limit = limit
        self.account: int | None = None  # the one account whose private groups this connection joined
        self._specs: dict[str, StreamSpec] = {}  # name as subscribed -> spec
        self._routes: dict[str, list[StreamSpec]] = defaultdict(list)  # frame stream -> specs

    def __contains__(self, name: str) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return list(self._specs)

    def groups(self) -> set[str]:
        return {g for s in self._specs.values() if (g := s.group(self.account)) is not None}

    def check_subscribe(
        self, specs: Iterable[StreamSpec], account: int | None, request_id: int | str | None = None
    ) -> None:
        """Raise ``ProtocolError`` if adding ``specs`` (for ``account``, if private) is not allowed."""
        specs = list(specs)
        new = {s.name for s in specs} - self._specs.keys()
        if len(self._specs) + len(new) > self.limit:
            raise ProtocolError(f"Too many streams: at most {self.limit} per connection", request_id)
        wants_account = any(s.private and s.source for s in specs)
        if wants_account and self.account is not None and account != self.account:
            # Private frames do not name their account, so one connection serves one account.
            raise ProtocolError("Private streams of another account are already subscribed", request_id)

    def add(self, specs: Iterable[StreamSpec], account: int | None) -> set[str]:
        """Add (after ``check_subscribe``); returns the groups to join that were not joined yet."""
        before = self.groups()
        for spec in specs:
            if spec.name in self._specs:
                continue
            if spec.private and spec.source:
                self.account = account
            self._specs[spec.name] = spec
            if spec.source is not None:
                self._routes[spec.source].append(spec)
        return self.groups() - before

    def remove(self, names: Iterable[str]) -> set[str]:
        """Remove (unknown names are ignored); returns the groups no longer needed."""
        before = self.groups()
        for name in names:
            spec = self._specs.pop(name, None)
            if spec is None or spec.source is None:
                continue
            routes = self._routes[spec.source]
            routes.remove(spec)
            if not routes:
                del self._routes[spec.source]
        left = self.groups()
        if not any(s.private and s.source for s in self._specs.values()):
            self.account = None
        return before - left

    def render(self, frames: list[dict], encoded: dict[int, str]) -> list[str]:
        """The text frames this connection sends for one channel-layer message, in order.

        ``encoded`` caches frame ``i`` rendered under its own stream name: the same message
        object reaches every consumer of the process, so a public frame is encoded once per
        process, not once per client.
        """
        texts: list[str] = []
        for i, frame in enumerate(frames):
            for spec in self._routes.get(frame["stream"], ()):
                data = frame["data"]
                if not spec.wants(data):
                    continue
                if spec.name == frame["stream"]:
                    text = encoded.get(i)
                    if text is None:
                        text = encoded[i] = data_frame(spec.name, data)
                else:
                    text = data_frame(spec.name, data)
                texts.append(text)
        return texts
