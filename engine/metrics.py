"""What the engine process counts for the operators: commands by type and result, how long
applying one takes, where it stands in its log. It keeps the figures itself and writes them
with every heartbeat, under its lease, to ``contract.names.ENGINE_METRICS_KEY``; the web's ``/metrics``
endpoint renders them (``operations.metrics``). Counters start again from zero when the engine
does, as Prometheus counters may."""

from __future__ import annotations

from bisect import bisect_left

# Seconds to apply one command: the core takes microseconds; a command that sweeps a book, more.
APPLY_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05)

# Entries after an id, counted in Redis (no entry leaves it): KEYS[1] the stream, ARGV[1] the id.
COUNT_AFTER_SCRIPT = """
local n, from = 0, '(' .. ARGV[1]
while true do
  local entries = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 10000)
  n = n + #entries
  if #entries < 10000 then return n end
  from = '(' .. entries[#entries][1]
end
"""


class EngineMetrics:
    """Counters of one engine process's life."""

    __slots__ = ("commands", "buckets", "seconds", "applied", "snapshot_at_ms", "seq")

    def __init__(self) -> None:
        self.commands: dict[tuple[str, str], int] = {}  # (command type, "ok" | "rejected") -> count
        self.buckets = [0] * (len(APPLY_BUCKETS) + 1)  # the last: above every bound
        self.seconds = 0.0
        # Entries of the log applied (malformed ones included), counted from the log's start.
        self.applied = 0
        self.snapshot_at_ms: int | None = None  # when the newest snapshot was written
        self.seq = 0  # the engine's sequence number, as of the last heartbeat

    def observe(self, command: str, rejected: bool, seconds: float) -> None:
        key = (command, "rejected" if rejected else "ok")
        commands = self.commands
        commands[key] = commands.get(key, 0) + 1
        self.buckets[bisect_left(APPLY_BUCKETS, seconds)] += 1
        self.seconds += seconds

    def state(self) -> dict:
        return {
            "commands": [[c, r, n] for (c, r), n in sorted(self.commands.items())],
            "apply_buckets": self.buckets,  # per bound of APPLY_BUCKETS, then above them all
            "apply_seconds": self.seconds,
            "applied": self.applied,
            "snapshot_at_ms": self.snapshot_at_ms,
            "seq": self.seq,
        }
