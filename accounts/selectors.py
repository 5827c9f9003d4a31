"""Reads of a user's private data, already shaped for the wire.

Balances and open orders come from the engine's Redis cache (``contract.md_cache``), which the
engine writes before it replies to a command: a client that got its order acknowledged sees it
here at once. History comes from the database rows the persistence workers write from engine
events, which trail the engine by a batch or more, merged with the engine's cache of each
account's newest order updates and fills: the history holds what a reply acknowledged at once
too. Every query is scoped to the requesting user: another
user's order is never visible, cancellable or counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from contract import md_cache, wire
from exchange_site.api_errors import ApiError
from exchange_site.redis_client import get_redis
from history.models import Fill, Order, Transfer
from markets import selectors as market_selectors
from markets.models import Asset, Market

from . import error_codes as errors
from .models import ApiKey

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


def _cache_unavailable(exc: Exception) -> ApiError:
    return ApiError(errors.SERVER_ERROR, f"Account data is temporarily unavailable: {exc}", http_status=503)


def balances(user: AbstractBaseUser) -> dict[str, dict]:
    """``{"SOL": {"available", "locked", "staked"}, ...}`` for every asset the user ever held."""
    try:
        cached = md_cache.read_balances(get_redis(), user.pk)
    except redis.RedisError as exc:
        raise _cache_unavailable(exc) from None
    for balance in cached.values():
        balance.setdefault("staked", "0")  # always present on the wire
    return dict(sorted(cached.items()))


def open_orders(user: AbstractBaseUser, symbol: str | None = None) -> list[dict]:
    """The user's open orders (order objects), oldest first."""
    try:
        return md_cache.read_open_orders(get_redis(), user.pk, symbol)
    except redis.RedisError as exc:
        raise _cache_unavailable(exc) from None


def open_order(
    user: AbstractBaseUser, symbol: str, order_id: int | None = None, client_id: int | None = None
) -> dict:
    """One open order by id or client id; ``RESOURCE_NOT_FOUND`` if the user has no such open order."""
    for order in open_orders(user, symbol):
        # Given both, both must match (as the engine's cancel does).
        if (order_id is None or order["id"] == str(order_id)) and (
            client_id is None or order["clientId"] == client_id
        ):
            return order
    raise errors.not_found("Order not found")


def api_keys(user: AbstractBaseUser) -> list[ApiKey]:
    return list(ApiKey.objects.filter(user=user).order_by("revoked", "-created_at"))


# --- history (database) ----------------------------------------------------------------------


def _formats() -> dict[int, wire.MarketFormat]:
    """Wire formats of every market by primary key (a handful of rows; one query)."""
    formats = {}
    for market in Market.objects.select_related("base", "quote"):
        formats[market.pk] = wire.MarketFormat(
            symbol=market.symbol,
            base=market.base.symbol,
            quote=market.quote.symbol,
            tick_size=market.tick_size.normalize(),
            step_size=market.step_size.normalize(),
            base_decimals=market.base.decimals,
            quote_decimals=market.quote.decimals,
        )
    return formats


def _narrowed(
    rows: QuerySet,
    symbol: str | None = None,
    order_id: int | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> QuerySet:
    """``rows`` of one market, of one order, from and before a time (``ts``): each where given."""
    market_id = _market_id(symbol)
    if market_id is not None:
        rows = rows.filter(market_id=market_id)
    if order_id is not None:
        rows = rows.filter(order_id=order_id)
    if from_ms is not None:
        rows = rows.filter(ts__gte=from_ms)
    if to_ms is not None:
        rows = rows.filter(ts__lt=to_ms)
    return rows


def _market_id(symbol: str | None) -> int | None:
    if symbol is None:
        return None
    market_id = Market.objects.filter(symbol=symbol).values_list("pk", flat=True).first()
    if market_id is None:
        raise errors.unknown_symbol(symbol)
    return market_id


def _recent_history(user: AbstractBaseUser) -> tuple[list[tuple[int, dict]], list[tuple[int, dict]]]:
    """The engine's cache of the user's newest order updates and fills (``contract.md_cache``)."""
    try:
        return md_cache.read_recent_history(get_redis(), user.pk)
    except redis.RedisError as exc:
        # The database's history is still an answer, only possibly a moment behind.
        log.warning("recent history unavailable, serving the database's: %s", exc)
        return [], []


def _merged_page(
    unstored: list[tuple[int, int, dict]], rows: QuerySet, page: Page, first: str, second: str
) -> list:
    """One page of ``rows`` (newest first by the fields ``(first, second)``) with ``unstored``
    merged in at their places: ``(first value, second value, object)`` of entries the engine
    acknowledged that the database does not have yet. The page holds model instances and those
    objects."""
    start, end = page.offset, page.offset + page.limit
    if not unstored:
        return list(rows[start:end])
    unstored.sort(key=lambda u: (u[0], u[1]), reverse=True)
    oldest_first, oldest_second = unstored[-1][0], unstored[-1][1]
    # Unstored entries are the newest or nearly: only the rows newer than the oldest of them
    # can come between them, and the rest of the page follows in the database's order.
    newer = Q(**{f"{first}__gt": oldest_first}) | Q(**{first: oldest_first, f"{second}__gt": oldest_second})
    head_rows = list(rows.filter(newer)[:end])
    head = [((getattr(r, first), getattr(r, second)), r) for r in head_rows]
    head.extend(((u[0], u[1]), u[2]) for u in unstored)
    head.sort(key=lambda h: h[0], reverse=True)
    merged = [item for _, item in head]
    if len(head_rows) == end or end <= len(merged):
        return merged[start:end]
    skip = max(0, start - len(merged))
    return merged[start:] + list(rows.exclude(newer)[skip : skip + end - max(start, len(merged))])


def order_history(
    user: AbstractBaseUser, page: Page, symbol: str | None = None, order_id: int | None = None
) -> list[dict]:
    """Orders, open and closed, newest first, as order objects with a naive ISO ``createdAt``:
    the database's rows, and what the engine acknowledged since, each order as it stands now."""
    rows = _narrowed(Order.objects.filter(user=user), symbol=symbol, order_id=order_id)
    latest: dict[int, tuple[int, dict]] = {}  # order id -> its newest update
    for seq, item in _recent_history(user)[0]:  # oldest first
        order = item["order"]
        if (symbol is None or order["symbol"] == symbol) and (
            order_id is None or order["id"] == str(order_id)
        ):
            latest[int(order["id"])] = (seq, item)
    stored = dict(rows.filter(order_id__in=latest).values_list("order_id", "last_seq")) if latest else {}
    current = {oid: item["order"] for oid, (seq, item) in latest.items() if stored.get(oid, -1) < seq}
    unstored = [
        (latest[oid][1]["createdTs"], oid, order) for oid, order in current.items() if oid not in stored
    ]
    ordered = rows.order_by("-created_ts", "-order_id")
    formats = _formats()
    result = []
    for row in _merged_page(unstored, ordered, page, "created_ts", "order_id"):
        if isinstance(row, dict):
            result.append(row)
        elif row.order_id in current:  # the database's row is behind the engine
            result.append(current[row.order_id])
        else:
            result.append(wire.order_history_object(formats[row.market_id], _order_fields(row)))
    return result


def _order_fields(row: Order) -> dict:
    return {
        "order_id": row.order_id,
        "client_id": row.client_id,
        "created_ts": row.created_ts,
        "side": row.side,
        "order_type": row.order_type,
        "time_in_force": row.time_in_force,
        "post_only": row.post_only,
        "price": row.price,
        "quantity": row.quantity,
        "quote_quantity": row.quote_quantity,
        "executed_quantity": row.executed_quantity,
        "executed_quote_quantity": row.executed_quote_quantity,
        "status": row.status,
        "self_trade_prevention": row.self_trade_prevention,
        "trigger_price": row.trigger_price,
    }


def fill_history(
    user: AbstractBaseUser,
    page: Page,
    symbol: str | None = None,
    order_id: int | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> list[dict]:
    """The user's fills, newest first: the database's, and those the engine made since."""
    rows = _narrowed(Fill.objects.filter(user=user), symbol, order_id, from_ms, to_ms)
    recent = [
        (item["ts"], seq, item["fill"])
        for seq, item in _recent_history(user)[1]
        if (symbol is None or item["fill"]["symbol"] == symbol)
        and (order_id is None or item["fill"]["orderId"] == str(order_id))
        and (from_ms is None or item["ts"] >= from_ms)
        and (to_ms is None or item["ts"] < to_ms)
    ]
    if recent:
        stored = set(Fill.objects.filter(seq__in=[seq for _, seq, _ in recent]).values_list("seq", flat=True))
        recent = [r for r in recent if r[1] not in stored]
    ordered = rows.order_by("-ts", "-seq")
    formats = _formats()
    decimals = dict(Asset.objects.values_list("symbol", "decimals"))
    return [
        row
        if isinstance(row, dict)
        else wire.fill_object(
            formats[row.market_id],
            trade_id=row.trade_id,
            order_id=row.order_id,
            side=row.side,
            price=row.price,
            quantity=row.quantity,
            fee=row.fee,
            fee_asset=row.fee_asset,
            fee_decimals=decimals.get(row.fee_asset, 0),
            is_maker=row.is_maker,
            ts=row.ts,
            client_id=row.client_id,
        )
        for row in _merged_page(recent, ordered, page, "ts", "seq")
    ]


def _transfer_head(seq: int, ts: int, amount: int, decimals: int) -> dict:
    # The engine's event sequence number is the id: known at once from the engine's reply and
    # the same later in the database row.
    return {"id": seq, "createdAt": wire.iso_ms(ts), "quantity": wire.amount(amount, decimals)}


def deposit_object(*, seq: int, ts: int, asset: str, amount: int, decimals: int, tx_id: str) -> dict:
    return {
        **_transfer_head(seq, ts, amount, decimals),
        "status": "confirmed",
        "symbol": asset,
        "source": "administrator",
        "toAddress": None,
        "fromAddress": None,
        "transactionHash": None,
        "identifier": tx_id,
    }


def withdrawal_object(*, seq: int, ts: int, asset: str, amount: int, decimals: int, tx_id: str) -> dict:
    return {
        **_transfer_head(seq, ts, amount, decimals),
        "fee": "0",
        "status": "confirmed",
        "symbol": asset,
        "toAddress": None,
        "blockchain": None,
        "transactionHash": None,
        "identifier": tx_id,
        "clientId": None,
    }


def transfer_history(
    user: AbstractBaseUser, kind: str, page: Page, from_ms: int | None = None, to_ms: int | None = None
) -> list[dict]:
    """The user's deposits or withdrawals (``kind``, a ``Transfer.Kind``), newest first."""
    render = deposit_object if kind == Transfer.Kind.DEPOSIT else withdrawal_object
    decimals = dict(Asset.objects.values_list("symbol", "decimals"))
    rows = _narrowed(Transfer.objects.filter(user=user, kind=kind), from_ms=from_ms, to_ms=to_ms)
    return [
        render(seq=t.seq, ts=t.ts, asset=t.asset, amount=t.amount, decimals=decimals[t.asset], tx_id=t.tx_id)
        for t in rows.order_by("-ts", "-seq")[page.offset : page.offset + page.limit]
    ]


def asset_decimals(symbol: object) -> int:
    """Decimals of an asset; ``INVALID_SYMBOL`` if there is no such asset."""
    if not isinstance(symbol, str):
        raise errors.wrong_type("symbol", "a string")
    if not market_selectors.is_symbol_shaped(symbol):
        raise errors.unknown_asset(symbol)
    decimals = Asset.objects.filter(symbol=symbol).values_list("decimals", flat=True).first()
    if decimals is None:
        raise errors.unknown_asset(symbol)
    return decimals
