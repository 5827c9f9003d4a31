"""The asyncio Redis client packs commands in C (hiredis) into the very bytes redis-py's own
Python packer writes."""

from __future__ import annotations

import pytest
import redis.asyncio
from redis.exceptions import DataError

from exchange_site.redis_client import HiredisPackingConnection

COMMANDS = [
    ("SET", "key", "välue", "EX", 5),
    ("EVAL", "return 1", 2, "reply.a", "reply.b", b'{"events": []}', "x" * 10_000, 30),
    ("HSET", "open_orders.7", "11", b"", "12", 3.5),
    ("CONFIG GET", "maxmemory"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_packs_into_the_same_bytes_as_redis_pys_packer(command):
    packed = b"".join(HiredisPackingConnection().pack_command(*command))
    assert packed == b"".join(redis.asyncio.Connection().pack_command(*command))


def test_a_value_redis_cannot_take_is_refused_as_redis_py_refuses_it():
    with pytest.raises(DataError):
        HiredisPackingConnection().pack_command("SET", "key", None)
