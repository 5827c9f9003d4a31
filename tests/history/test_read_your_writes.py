"""The history endpoints hold what the engine acknowledged at once, although persistence trails
it: the engine keeps each account's newest order updates and fills in its cache, and the
selectors merge them with the database's rows. Whatever part of the batches the database holds,
every page of every account's history is the page it will be once everything is persisted."""

from __future__ import annotations

import pytest

from accounts import selectors
from contract import md_cache
from engine.core.messages import CancelOrder
from exchange_site.redis_client import get_redis

pytestmark = pytest.mark.services

PAGES = [selectors.Page(limit=limit, offset=offset) for limit in (1, 7, 100) for offset in (0, 5, 33, 120)]


def histories(users) -> dict:
    out = {}
    for user in users:
        for page in PAGES:
            key = (user.pk, page.limit, page.offset)
            out[("orders", *key)] = selectors.order_history(user, page)
            out[("orders", "SOL_USDC", *key)] = selectors.order_history(user, page, symbol="SOL_USDC")
            out[("fills", *key)] = selectors.fill_history(user, page)
        some_order = out[("orders", user.pk, 100, 0)][3]["id"]
        out[("orders of", user.pk)] = selectors.order_history(user, PAGES[-1], order_id=int(some_order))
        out[("fills of", user.pk)] = selectors.fill_history(user, PAGES[-1], order_id=int(some_order))
    return out


def forget_recent_history(users) -> None:
    for user in users:
        get_redis().delete(md_cache.recent_orders_key(user.pk), md_cache.recent_fills_key(user.pk))


@pytest.mark.parametrize(
    "persisted",
    [
        pytest.param(lambda n: set(), id="nothing persisted"),
        pytest.param(lambda n: set(range(n // 2)), id="the first half persisted"),
        pytest.param(lambda n: set(range(n)) - {2, 5}, id="all but two batches persisted"),
    ],
)
def test_every_history_page_while_persistence_trails_is_the_page_once_it_caught_up(
    exchange, django_user_model, persisted
):
    exchange.trade_randomly(400, seed=21)
    users = list(django_user_model.objects.filter(pk__in=exchange.accounts))
    batches = len(exchange.entries)
    exchange.persist(skip=set(range(batches)) - persisted(batches))

    served = histories(users)
    exchange.persist()
    forget_recent_history(users)

    assert served == histories(users)
    assert sum(len(served[("fills", u.pk, 100, 0)]) for u in users) > 100


def test_an_order_the_database_has_in_an_older_state_is_shown_as_it_stands_now(exchange, django_user_model):
    exchange.trade_randomly(100, seed=4)
    exchange.persist()
    user = django_user_model.objects.get(pk=exchange.accounts[0])
    order = exchange.engine.open_orders(user.pk)[0]
    exchange.apply(CancelOrder(ts=0, account=user.pk, market="SOL_USDC", order_id=order.order_id))
    exchange.checkpoint()  # flushed to the cache, not persisted

    [shown] = selectors.order_history(user, selectors.Page(limit=10, offset=0), order_id=order.order_id)

    assert (shown["id"], shown["status"]) == (str(order.order_id), "Cancelled")
