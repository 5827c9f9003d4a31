"""The engine's Redis round trips, written and read without redis-py's pipeline.

Each loop iteration makes one or two round trips (a flush, a read); at 5,000 commands/s that is
~200 iterations a second with ~23 commands each, so what a round trip costs by itself counts
more than what its commands cost. redis-py's asyncio pipeline takes a pool lock, checks the
connection, wraps the call for retries and parses every reply through its callbacks: a flush
and a read cost the engine 700-750 us of CPU per iteration that way at the VM's half speed, and
300 us as one write packed by hiredis on a connection of its own, each reply read raw.

A ``Link`` holds one connection of the engine's pool; it has at most one exchange in flight (the
loop's order of flushes and reads guarantees it). There is no retry: an exchange that fails
raises, which stops the engine, and it restarts from its snapshot and the command log
(crash-only), where a retried flush could have pushed its replies and trades twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import hiredis
import redis.asyncio
from redis.exceptions import ResponseError

Arg = str | bytes | int | float | memoryview  # what hiredis packs
Command = tuple[Arg, ...]  # ("SET", key, value): a command name and its arguments


class CommandBatch:
    """Commands queued for one write. It has the few command methods of a redis-py pipeline that
    the cache writers (``engine.md_cache``) call, with the same signatures, so they take either."""

    __slots__ = ("commands",)

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def set(self, name: Arg, value: Arg) -> None:
        self.commands.append(("SET", name, value))

    def lpush(self, name: Arg, *values: Arg) -> None:
        self.commands.append(("LPUSH", name, *values))

    def ltrim(self, name: Arg, start: int, end: int) -> None:
        self.commands.append(("LTRIM", name, start, end))

    def eval(self, script: str, numkeys: int, *keys_and_args: Arg) -> None:
        self.commands.append(("EVAL", script, numkeys, *keys_and_args))


def transaction(commands: Sequence[Command]) -> list[Command]:
    """``commands`` as one MULTI/EXEC: their replies are the last reply's items."""
    return [("MULTI",), *commands, ("EXEC",)]


def transaction_error(replies: Sequence) -> ResponseError | None:
    """The first error among the replies to a ``transaction`` (a command refused when queued,
    or one that failed when EXEC ran it), else None."""
    for reply in replies[:-1]:
        if isinstance(reply, ResponseError):
            return reply
    executed = replies[-1]
    if isinstance(executed, ResponseError):
        return executed
    if executed is None:  # only after a WATCH, which the engine does not use
        return ResponseError("EXEC returned nil: the transaction did not run")
    for reply in executed:
        if isinstance(reply, ResponseError):
            return reply
    return None


class Link:
    """One connection of ``client``'s pool that sends a list of commands in one write and returns
    one reply per command, Redis's errors as ``ResponseError`` values for the caller to judge."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self._connection = None

    async def exchange(self, commands: Sequence[Command]) -> list:
        connection = self._connection
        if connection is None:
            connection = self._connection = await self.client.connection_pool.get_connection()
        try:
            packed = b"".join(map(hiredis.pack_command, commands))
            await connection.send_packed_command(packed, check_health=False)
            replies = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as exc:  # read in full: the next reply follows
                    replies.append(exc)
        except BaseException:
            # Cut off (cancelled, timed out, lost): replies may be left unread on the connection
            # (redis-py drops it on most of these itself). It goes back to the pool closed, and a
            # next exchange, if the caller makes one, takes a fresh one.
            self._connection = None
            await connection.disconnect()
            await self.client.connection_pool.release(connection)
            raise
        return replies
