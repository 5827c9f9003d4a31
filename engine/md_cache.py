"""The engine's Redis cache: what the REST API reads instead of asking the engine.

The engine process is the only writer (``engine.publisher``); it writes every key of a batch in
one MULTI/EXEC before it replies, so a client that got its reply reads its own writes, and a
depth snapshot and its ``lastUpdateId`` are always one consistent value. Values are stored
already rendered for the wire (JSON), so reads are a GET and a parse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis

from engine import jsonfast

RECENT_TRADES_KEPT = 1000


def depth_key(symbol: str) -> str:
    return f"md:depth:{symbol}"


def ticker_key(symbol: str) -> str:
    return f"md:ticker:{symbol}"


def trades_key(symbol: str) -> str:
    return f"md:trades:{symbol}"


def balances_key(account: int) -> str:
    return f"md:balances:{account}"


def open_orders_key(account: int) -> str:
    return f"md:orders:{account}"


# --- writers (the engine process, inside one transaction per batch) -----------------------


def write_depth(pipe, symbol: str, snapshot: bytes) -> None:
    """``snapshot``: the JSON of ``engine.wire.depth_snapshot``."""
    pipe.set(depth_key(symbol), snapshot)


def write_ticker(pipe, symbol: str, ticker: dict) -> None:
    pipe.set(ticker_key(symbol), jsonfast.dumps(ticker))


def push_trades(pipe, symbol: str, trades: list[dict]) -> None:
    """``trades`` oldest first; the list keeps the newest ``RECENT_TRADES_KEPT``, newest at the head."""
    if trades:
        pipe.lpush(trades_key(symbol), *[jsonfast.dumps(t) for t in trades])
        pipe.ltrim(trades_key(symbol), 0, RECENT_TRADES_KEPT - 1)


# The account hashes a flush changes, all in one command. KEYS: the hashes; ARGV, per key in
# turn: how many fields to set, how many to delete, the field/value pairs, the deleted fields.
# One command per flush instead of one or two per account: redis-py's packing and parsing of a
# command cost the engine more than Redis's running of it (a flush writing 20 accounts' orders
# and balances: 0.8 ms of the engine's CPU as 40 commands, 0.4 ms as this script, see
# bench/README.md). ``unpack`` is limited to a few thousand values, hence the chunks.
ACCOUNTS_SCRIPT = """
local function each_chunk(command, key, first, count, width)
  local last = first + count * width - 1
  local step = 1000 * width
  for from = first, last, step do
    redis.call(command, key, unpack(ARGV, from, math.min(from + step - 1, last)))
  end
end
local a = 1
for i = 1, #KEYS do
  local sets, deletes = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  each_chunk('HSET', KEYS[i], a, sets, 2)
  a = a + 2 * sets
  each_chunk('HDEL', KEYS[i], a, deletes, 1)
  a = a + deletes
end
return #KEYS
"""


def write_accounts(
    pipe,
    open_orders: Mapping[int, tuple[Mapping[str, dict], Sequence[str]]],
    balances: Mapping[int, Mapping[str, dict]],
) -> None:
    """What a flush changed of its accounts: per account the open orders (upserted by id,
    removed ids) and the balances (by asset, each replacing the asset's entry)."""
    keys: list[str] = []
    args: list = []
    for account, (upserts, removals) in open_orders.items():
        _hash_changes(keys, args, open_orders_key(account), upserts, removals)
    for account, per_asset in balances.items():
        _hash_changes(keys, args, balances_key(account), per_asset, ())
    if keys:
        pipe.eval(ACCOUNTS_SCRIPT, len(keys), *keys, *args)


def _hash_changes(
    keys: list[str], args: list, key: str, sets: Mapping[str, dict], deletes: Sequence[str]
) -> None:
    if not sets and not deletes:
        return
    keys.append(key)
    args.append(len(sets))
    args.append(len(deletes))
    for field, value in sets.items():
        args.append(field)
        args.append(jsonfast.dumps(value))
    args.extend(deletes)


# --- readers (the web process) -------------------------------------------------------------


def read_depth(client: redis.Redis, symbol: str) -> dict | None:
    raw = client.get(depth_key(symbol))
    return jsonfast.loads(raw) if raw else None


def read_ticker(client: redis.Redis, symbol: str) -> dict | None:
    raw = client.get(ticker_key(symbol))
    return jsonfast.loads(raw) if raw else None


def read_tickers(client: redis.Redis, symbols: list[str]) -> dict[str, dict | None]:
    if not symbols:
        return {}
    raws = client.mget([ticker_key(s) for s in symbols])
    return {s: (jsonfast.loads(r) if r else None) for s, r in zip(symbols, raws, strict=True)}


def read_recent_trades(client: redis.Redis, symbol: str, limit: int) -> list[dict]:
    """The newest ``limit`` trades, newest last (the wire's order)."""
    raws = client.lrange(trades_key(symbol), 0, limit - 1)
    return [jsonfast.loads(r) for r in reversed(raws)]


def read_balances(client: redis.Redis, account: int) -> dict[str, dict]:
    return {k.decode(): jsonfast.loads(v) for k, v in client.hgetall(balances_key(account)).items()}


def read_open_orders(client: redis.Redis, account: int, symbol: str | None = None) -> list[dict]:
    orders = [jsonfast.loads(v) for v in client.hvals(open_orders_key(account))]
    if symbol is not None:
        orders = [o for o in orders if o["symbol"] == symbol]
    orders.sort(key=lambda o: int(o["id"]))
    return orders
