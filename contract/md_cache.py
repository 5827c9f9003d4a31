"""The engine's Redis cache: what the REST API reads instead of asking the engine.

The engine process is the only writer (``engine.publisher``); it writes every key of a batch
in one fenced script (``engine.redis_batch``) before it replies, so a client that got its reply
reads its own writes, and a depth snapshot and its ``lastUpdateId`` are always one consistent
value. Values are stored
already rendered for the wire (JSON), so reads are a GET and a parse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis

from contract import jsonfast


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


# An account's newest order updates and fills, until the database has them: the history
# endpoints merge them in, so that what a reply acknowledged is in the history at once although
# persistence trails it (``accounts.selectors``). Scored by event seq. Persistence is normally
# under a second behind; these bounds cover it being far behind for a busy account too.
RECENT_HISTORY_KEPT = 1000
RECENT_HISTORY_TTL_S = 3600


def recent_orders_key(account: int) -> str:
    return f"md:recent_orders:{account}"


def recent_fills_key(account: int) -> str:
    return f"md:recent_fills:{account}"


# --- writers (the engine process, inside one transaction per batch) -----------------------

# Levels a side of a market's depth snapshot: the engine writes no more, the REST API serves a
# snapshot whole when asked for at least as many.
DEPTH_CACHE_LEVELS = 1000


def write_depth(pipe, symbol: str, snapshot: bytes) -> None:
    """``snapshot``: the JSON of ``contract.wire.depth_snapshot``."""
    pipe.set(depth_key(symbol), snapshot)


def write_ticker(pipe, symbol: str, ticker: dict) -> None:
    pipe.set(ticker_key(symbol), jsonfast.dumps(ticker))


RECENT_TRADES_KEPT = 1000


def push_trades(pipe, symbol: str, trades: list[dict]) -> None:
    """``trades`` oldest first; the list keeps the newest ``RECENT_TRADES_KEPT``, newest at the head."""
    if trades:
        pipe.lpush(trades_key(symbol), *[jsonfast.dumps(t) for t in trades])
        pipe.ltrim(trades_key(symbol), 0, RECENT_TRADES_KEPT - 1)


def write_accounts(
    batch,
    open_orders: Mapping[int, tuple[Mapping[str, dict], Sequence[str]]],
    balances: Mapping[int, Mapping[str, dict]],
) -> None:
    """What a flush changed of its accounts (``batch``: an ``engine.redis_batch.CommandBatch``):
    per account the open orders (upserted by id, removed ids) and the balances (by asset, each
    replacing the asset's entry)."""
    dumps = jsonfast.dumps
    for account, (upserts, removals) in open_orders.items():
        batch.hash_changes(open_orders_key(account), {k: dumps(v) for k, v in upserts.items()}, removals)
    for account, per_asset in balances.items():
        batch.hash_changes(balances_key(account), {k: dumps(v) for k, v in per_asset.items()}, ())


def write_recent_history(
    batch, orders: Mapping[int, Sequence[tuple[int, dict]]], fills: Mapping[int, Sequence[tuple[int, dict]]]
) -> None:
    """Per account, order updates ``(seq, {"createdTs", "order"})`` and fills ``(seq, {"ts",
    "fill"})``, the objects as the history endpoints render them."""
    dumps = jsonfast.dumps
    for account, items in orders.items():
        members = [(seq, dumps(item)) for seq, item in items]
        batch.scored(recent_orders_key(account), members, RECENT_HISTORY_KEPT, RECENT_HISTORY_TTL_S)
    for account, items in fills.items():
        members = [(seq, dumps(item)) for seq, item in items]
        batch.scored(recent_fills_key(account), members, RECENT_HISTORY_KEPT, RECENT_HISTORY_TTL_S)


# --- readers (the web process) -------------------------------------------------------------


def read_depth(client: redis.Redis, symbol: str) -> dict | None:
    raw = client.get(depth_key(symbol))
    return jsonfast.loads(raw) if raw else None


def read_ticker(client: redis.Redis, symbol: str) -> dict | None:
    raw = client.get(ticker_key(symbol))
    return jsonfast.loads(raw) if raw else None


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


def read_recent_history(
    client: redis.Redis, account: int
) -> tuple[list[tuple[int, dict]], list[tuple[int, dict]]]:
    """``(order updates, fills)`` of ``write_recent_history``, each ``(seq, item)``, oldest first."""
    pipe = client.pipeline(transaction=False)
    pipe.zrange(recent_orders_key(account), 0, -1, withscores=True, score_cast_func=int)
    pipe.zrange(recent_fills_key(account), 0, -1, withscores=True, score_cast_func=int)
    orders, fills = pipe.execute()
    return [(seq, jsonfast.loads(m)) for m, seq in orders], [(seq, jsonfast.loads(m)) for m, seq in fills]
