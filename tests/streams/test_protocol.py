"""The websocket protocol at ``/`` (shared/API.md, "Websocket"), through the real ASGI application
and the real Redis channel layer; the engine's side is played by ``group_send`` calls in the
documented shape ``{"type": "stream.frames", "frames": [{"stream", "data"}, ...]}``."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from tests.streams.conftest import subscribed

pytestmark = [pytest.mark.asyncio, pytest.mark.services]

TRADE = {
    "e": "trade",
    "E": 1754000000000000,
    "s": "SOL_USDC",
    "p": "140.5",
    "q": "2",
    "t": 7,
    "m": True,
    "b": "11",
    "a": "12",
    "T": 1754000000000000,
}
DEPTH = {
    "e": "depth",
    "E": 1754000000000000,
    "s": "SOL_USDC",
    "a": [["141", "3"]],
    "b": [],
    "U": 5,
    "u": 5,
    "T": 1754000000000000,
}


def order_update(symbol: str, order_id: str) -> dict:
    return {
        "e": "orderAccepted",
        "E": 1754000000000000,
        "s": symbol,
        "c": None,
        "S": "Bid",
        "o": "LIMIT",
        "f": "GTC",
        "q": "1",
        "p": "100",
        "X": "New",
        "i": order_id,
        "z": "0",
        "Z": "0",
        "T": 1754000000000000,
    }


BALANCE = {"e": "balanceUpdate", "E": 1754000000000000, "a": "USDC", "A": "900", "L": "100", "S": "0"}


async def engine_sends(group: str, *frames: tuple[str, dict]) -> None:
    """What ``engine.publisher`` does: one message per group, carrying every frame of a loop."""
    await get_channel_layer().group_send(
        group, {"type": "stream.frames", "frames": [{"stream": s, "data": d} for s, d in frames]}
    )


def error(message: str, request_id=None) -> dict:
    return {"id": request_id, "error": {"code": 4006, "message": message}}


@pytest.fixture
def markets(demo_markets):
    return demo_markets


# --- public streams ----------------------------------------------------------------------


async def test_each_frame_of_a_group_message_arrives_as_its_own_text_frame(ws, markets):
    client = await subscribed(ws, "trade.SOL_USDC")
    second = {**TRADE, "t": 8}
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE), ("trade.SOL_USDC", second))
    assert await client.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}
    assert await client.receive() == {"stream": "trade.SOL_USDC", "data": second}


async def test_one_subscribe_frame_names_several_streams(ws, markets):
    client = await subscribed(ws, "trade.SOL_USDC", "depth.SOL_USDC", id=1)
    await engine_sends("depth.SOL_USDC", ("depth.SOL_USDC", DEPTH))
    assert await client.receive() == {"stream": "depth.SOL_USDC", "data": DEPTH}
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await client.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}


async def test_every_public_stream_kind_is_subscribable(ws, markets):
    names = [
        "depth.SOL_USDC",
        "depth.200ms.SOL_USDC",
        "depth.1000ms.SOL_USDC",
        "trade.SOL_USDC",
        "ticker.SOL_USDC",
        "bookTicker.SOL_USDC",
        "kline.1m.SOL_USDC",
        "kline.1month.BTC_USDC",
    ]
    client = await subscribed(ws, *names)
    for name in names:
        await engine_sends(name, (name, {"e": "x", "n": name}))
        assert await client.receive() == {"stream": name, "data": {"e": "x", "n": name}}


async def test_no_frames_from_streams_not_subscribed(ws, markets):
    client = await subscribed(ws, "trade.SOL_USDC")
    await engine_sends("trade.BTC_USDC", ("trade.BTC_USDC", {**TRADE, "s": "BTC_USDC"}))
    await engine_sends("depth.SOL_USDC", ("depth.SOL_USDC", DEPTH))
    assert await client.nothing()


async def test_every_subscriber_of_a_stream_gets_its_frames(ws, markets):
    first, second = await ws(), await ws()
    for client in (first, second):
        await client.subscribe("trade.SOL_USDC")
        await client.settle()
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await first.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}
    assert await second.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}


async def test_unsubscribe_stops_the_named_streams_and_keeps_the_others(ws, markets):
    client = await subscribed(ws, "trade.SOL_USDC", "depth.SOL_USDC")
    await client.unsubscribe("trade.SOL_USDC")
    await client.settle()
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    await engine_sends("depth.SOL_USDC", ("depth.SOL_USDC", DEPTH))
    assert await client.receive() == {"stream": "depth.SOL_USDC", "data": DEPTH}
    assert await client.nothing()


async def test_subscribing_twice_delivers_once(ws, markets):
    client = await ws()
    await client.subscribe("trade.SOL_USDC", "trade.SOL_USDC")
    await client.subscribe("trade.SOL_USDC")
    await client.settle()
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await client.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}
    assert await client.nothing()


async def test_unsupported_well_formed_names_are_accepted_silently(ws, markets):
    client = await ws()
    await client.subscribe("account.rfqUpdate", "markPrice.SOL_USDC", "trade.SOL_USDC", id=3)
    await client.settle()  # no error came first
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await client.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}


async def test_kline_frames_from_the_candle_builder_reach_kline_subscribers(ws, markets):
    from history.tasks import publish_klines

    kline = {
        "e": "kline",
        "E": 1754000000000000,
        "s": "SOL_USDC",
        "t": "2025-08-06T22:00:00",
        "T": "2025-08-06T22:01:00",
        "o": "140",
        "h": "141",
        "l": "139.5",
        "c": "140.5",
        "v": "3",
        "n": 2,
        "X": False,
    }
    client = await subscribed(ws, "kline.1m.SOL_USDC")
    await sync_to_async(publish_klines)([{"stream": "kline.1m.SOL_USDC", "data": kline}])
    assert await client.receive() == {"stream": "kline.1m.SOL_USDC", "data": kline}


# --- failures: one error frame, nothing else changes -------------------------------------


@pytest.mark.parametrize(
    ("frame", "reply"),
    [
        ("{not json", error("Invalid frame: not JSON")),
        ("[1, 2]", error("Invalid frame: expected a JSON object")),
        ('{"params": ["trade.SOL_USDC"], "id": 4}', error("Invalid frame: missing method", 4)),
        (
            '{"method": "LIST", "params": [], "id": 5}',
            error("Invalid method: 'LIST'; expected SUBSCRIBE or UNSUBSCRIBE", 5),
        ),
        (
            '{"method": "SUBSCRIBE", "params": "trade.SOL_USDC", "id": 6}',
            error("Invalid params: expected a list of stream names", 6),
        ),
        (
            '{"method": "SUBSCRIBE", "params": [1], "id": 7}',
            error("Invalid params: expected a list of stream names", 7),
        ),
        ('{"method": "SUBSCRIBE", "id": "x"}', error("Invalid params: expected a list of stream names", "x")),
        (
            '{"method": "SUBSCRIBE", "params": ["trade.DOGE_USDC"], "id": 8}',
            error("Invalid stream: unknown market DOGE_USDC", 8),
        ),
        (
            '{"method": "SUBSCRIBE", "params": ["depth.500ms.SOL_USDC"], "id": 9}',
            error("Invalid stream: 'depth.500ms.SOL_USDC'", 9),
        ),
        (
            '{"method": "SUBSCRIBE", "params": ["kline.7m.SOL_USDC"]}',
            error("Invalid stream: 'kline.7m.SOL_USDC'"),
        ),
        ('{"method": "SUBSCRIBE", "params": ["trade"]}', error("Invalid stream: 'trade'")),
        (
            '{"method": "SUBSCRIBE", "params": ["trade.SOL_USDC.x"]}',
            error("Invalid stream: 'trade.SOL_USDC.x'"),
        ),
        ('{"method": "SUBSCRIBE", "params": ["depth SOL_USDC"]}', error("Invalid stream: 'depth SOL_USDC'")),
        ('{"method": "SUBSCRIBE", "params": [""]}', error("Invalid stream: ''")),
        (
            '{"method": "SUBSCRIBE", "params": ["account.orderUpdate.SOL_USDC.x"]}',
            error("Invalid stream: 'account.orderUpdate.SOL_USDC.x'"),
        ),
        (
            '{"method": "SUBSCRIBE", "params": ["account.orderUpdate"], "id": 10}',
            error("Invalid signature: private streams need a signed subscription", 10),
        ),
        (
            '{"method": "SUBSCRIBE", "params": ["account.balanceUpdate"]}',
            error("Invalid signature: private streams need a signed subscription"),
        ),
        (
            '{"method": "SUBSCRIBE", "params": ["trade.SOL_USDC"], "signature": "abc", "id": 11}',
            error("Invalid signature: expected [apiKey, signature, timestamp, window]", 11),
        ),
    ],
)
async def test_a_bad_frame_gets_one_error_frame_and_subscribes_nothing(ws, markets, frame, reply):
    client = await ws()
    await client.send(frame)
    assert await client.receive() == reply
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await client.nothing()


async def test_a_frame_with_one_bad_stream_subscribes_none_of_its_streams(ws, markets):
    client = await ws()
    await client.subscribe("trade.SOL_USDC", "depth.SOL_USDC", "trade.NOPE_USDC", id=12)
    assert await client.receive() == error("Invalid stream: unknown market NOPE_USDC", 12)
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    await engine_sends("depth.SOL_USDC", ("depth.SOL_USDC", DEPTH))
    assert await client.nothing()


async def test_the_connection_stays_usable_after_an_error(ws, markets):
    client = await ws()
    await client.subscribe("depth.SOL_USDC")
    await client.send("garbage")
    assert await client.receive() == error("Invalid frame: not JSON")
    await client.subscribe("trade.SOL_USDC")
    await client.settle()
    await engine_sends("depth.SOL_USDC", ("depth.SOL_USDC", DEPTH))
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await client.receive() == {"stream": "depth.SOL_USDC", "data": DEPTH}
    assert await client.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}


async def test_a_connection_holds_at_most_50_streams(ws, markets):
    intervals = "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1month".split()
    fifty = [f"kline.{i}.{m}" for i in intervals for m in ("SOL_USDC", "BTC_USDC", "ETH_USDC")]
    fifty += ["trade.SOL_USDC", "trade.BTC_USDC", "trade.ETH_USDC", "ticker.SOL_USDC", "ticker.BTC_USDC"]
    assert len(fifty) == 50
    client = await ws()
    await client.subscribe(*fifty)
    await client.subscribe("depth.SOL_USDC", id=13)
    assert await client.receive() == error("Too many streams: at most 50 per connection", 13)
    await client.unsubscribe("ticker.BTC_USDC")
    await client.subscribe("depth.SOL_USDC")
    await client.settle()
    await engine_sends("depth.SOL_USDC", ("depth.SOL_USDC", DEPTH))
    assert await client.receive() == {"stream": "depth.SOL_USDC", "data": DEPTH}


# --- private streams ---------------------------------------------------------------------


async def test_a_signed_subscription_gets_the_accounts_order_updates(ws, markets, alice):
    client = await subscribed(ws, "account.orderUpdate", signature=alice.signature())
    update = order_update("SOL_USDC", "21")
    await engine_sends(f"account.orderUpdate.{alice.user.pk}", ("account.orderUpdate", update))
    assert await client.receive() == {"stream": "account.orderUpdate", "data": update}


async def test_a_market_order_stream_gets_only_that_market_under_its_own_name(ws, markets, alice):
    client = await subscribed(ws, "account.orderUpdate.SOL_USDC", signature=alice.signature())
    btc, sol = order_update("BTC_USDC", "30"), order_update("SOL_USDC", "31")
    await engine_sends(
        f"account.orderUpdate.{alice.user.pk}", ("account.orderUpdate", btc), ("account.orderUpdate", sol)
    )
    assert await client.receive() == {"stream": "account.orderUpdate.SOL_USDC", "data": sol}
    assert await client.nothing()


async def test_all_markets_and_one_market_order_streams_each_get_their_frames(ws, markets, alice):
    client = await subscribed(
        ws, "account.orderUpdate", "account.orderUpdate.SOL_USDC", signature=alice.signature()
    )
    sol = order_update("SOL_USDC", "40")
    await engine_sends(f"account.orderUpdate.{alice.user.pk}", ("account.orderUpdate", sol))
    assert await client.receive() == {"stream": "account.orderUpdate", "data": sol}
    assert await client.receive() == {"stream": "account.orderUpdate.SOL_USDC", "data": sol}
    await client.unsubscribe("account.orderUpdate.SOL_USDC")
    await client.settle()
    await engine_sends(f"account.orderUpdate.{alice.user.pk}", ("account.orderUpdate", sol))
    assert await client.receive() == {"stream": "account.orderUpdate", "data": sol}
    assert await client.nothing()


async def test_a_signed_subscription_gets_the_accounts_balance_updates(ws, markets, alice):
    client = await subscribed(ws, "account.balanceUpdate", signature=alice.signature(window=60000))
    await engine_sends(f"account.balanceUpdate.{alice.user.pk}", ("account.balanceUpdate", BALANCE))
    assert await client.receive() == {"stream": "account.balanceUpdate", "data": BALANCE}


async def test_no_updates_of_another_account(ws, markets, api_key, alice):
    bob = await sync_to_async(api_key)("bob")
    client = await subscribed(ws, "account.orderUpdate", "account.balanceUpdate", signature=alice.signature())
    await engine_sends(
        f"account.orderUpdate.{bob.user.pk}", ("account.orderUpdate", order_update("SOL_USDC", "9"))
    )
    await engine_sends(f"account.balanceUpdate.{bob.user.pk}", ("account.balanceUpdate", BALANCE))
    assert await client.nothing()


async def test_a_signature_may_carry_integers_for_timestamp_and_window(ws, markets, alice):
    key, sig, ts, window = alice.signature()
    client = await subscribed(ws, "account.balanceUpdate", signature=[key, sig, int(ts), int(window)])
    await engine_sends(f"account.balanceUpdate.{alice.user.pk}", ("account.balanceUpdate", BALANCE))
    assert await client.receive() == {"stream": "account.balanceUpdate", "data": BALANCE}


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda k: k.signature(message="instruction=subscribe&timestamp=1&window=5000"), "Invalid signature"),
        (
            lambda k: k.signature(timestamp=k.now() - 6000),
            "Invalid signature: timestamp is outside the window",
        ),
        (
            lambda k: k.signature(timestamp=k.now() + 6000),
            "Invalid signature: timestamp is outside the window",
        ),
        (lambda k: k.signature(window=60001), "Invalid signature: window must be between 1 and 60000 ms"),
        (lambda k: [k.api_key, "not base64!", str(k.now()), "5000"], "Invalid signature"),
        (
            lambda k: [k.api_key, k.signature()[1], "soon", "5000"],
            "Invalid signature: expected [apiKey, signature, timestamp, window]",
        ),
    ],
    ids=["wrong-message", "stale", "future", "window-too-long", "not-base64", "timestamp-not-a-number"],
)
async def test_a_bad_or_stale_signature_is_refused_and_subscribes_nothing(ws, markets, alice, forge, message):
    client = await ws()
    await client.subscribe("account.orderUpdate", "trade.SOL_USDC", signature=forge(alice), id=20)
    assert await client.receive() == error(message, 20)
    await engine_sends(
        f"account.orderUpdate.{alice.user.pk}", ("account.orderUpdate", order_update("SOL_USDC", "1"))
    )
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await client.nothing()


async def test_an_unknown_or_revoked_key_is_refused(ws, markets, alice, make_user):
    from accounts.models import ApiKey

    client = await ws()
    await sync_to_async(ApiKey.objects.filter(public_key=alice.api_key).update)(revoked=True)
    await client.subscribe("account.orderUpdate", signature=alice.signature(), id=21)
    assert await client.receive() == error("Invalid signature: API key revoked", 21)
    await sync_to_async(ApiKey.objects.filter(public_key=alice.api_key).delete)()
    await client.subscribe("account.orderUpdate", signature=alice.signature(), id=22)
    assert await client.receive() == error("Invalid signature: unknown API key", 22)


async def test_one_connection_serves_one_account(ws, markets, api_key, alice):
    bob = await sync_to_async(api_key)("bob")
    client = await ws()
    await client.subscribe("account.orderUpdate", signature=alice.signature())
    await client.subscribe("account.balanceUpdate", signature=bob.signature(), id=23)
    assert await client.receive() == error("Private streams of another account are already subscribed", 23)
    await client.unsubscribe("account.orderUpdate")
    await client.subscribe("account.balanceUpdate", signature=bob.signature())
    await client.settle()
    await engine_sends(f"account.balanceUpdate.{bob.user.pk}", ("account.balanceUpdate", BALANCE))
    assert await client.receive() == {"stream": "account.balanceUpdate", "data": BALANCE}


OUR_PAGE = [(b"host", b"exchange.example:8000"), (b"origin", b"https://exchange.example:8000")]


@sync_to_async
def logged_in(user) -> list[tuple[bytes, bytes]]:
    """The Cookie header of a browser that logged in as ``user``."""
    from django.conf import settings
    from django.test import Client as HttpClient

    browser = HttpClient()
    browser.force_login(user)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME]
    return [(b"cookie", f"csrftoken=x; {cookie.key}={cookie.value}".encode())]


async def test_a_logged_in_browser_subscribes_to_its_private_streams_without_a_key(ws, markets, make_user):
    user = await sync_to_async(make_user)("carol")
    client = await ws(headers=OUR_PAGE + await logged_in(user))
    await client.subscribe("account.orderUpdate.SOL_USDC", "depth.SOL_USDC")
    await client.settle()
    update = order_update("SOL_USDC", "50")
    await engine_sends(f"account.orderUpdate.{user.pk}", ("account.orderUpdate", update))
    assert await client.receive() == {"stream": "account.orderUpdate.SOL_USDC", "data": update}


async def test_a_logged_in_browser_on_another_sites_page_gets_no_private_streams(ws, markets, make_user):
    user = await sync_to_async(make_user)("carol")
    other_site = [(b"host", b"exchange.example:8000"), (b"origin", b"https://evil.example")]
    client = await ws(headers=other_site + await logged_in(user))
    await client.subscribe("account.orderUpdate", "trade.SOL_USDC", id=25)
    assert await client.receive() == error(
        "Invalid signature: private streams need a signed subscription", 25
    )
    await client.subscribe("trade.SOL_USDC")  # public streams are open to every origin
    await client.settle()
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await client.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}


async def test_an_anonymous_browser_cannot_subscribe_to_private_streams(ws, markets):
    client = await ws(headers=OUR_PAGE)
    await client.subscribe("account.orderUpdate", id=24)
    assert await client.receive() == error(
        "Invalid signature: private streams need a signed subscription", 24
    )


async def test_a_browser_whose_session_ended_cannot_subscribe_to_private_streams(ws, markets, make_user):
    user = await sync_to_async(make_user)("carol")
    cookie = await logged_in(user)
    await sync_to_async(user.set_password)("changed")  # ends every session of the user
    await sync_to_async(user.save)()
    client = await ws(headers=OUR_PAGE + cookie)
    await client.subscribe("account.orderUpdate", id=26)
    assert await client.receive() == error(
        "Invalid signature: private streams need a signed subscription", 26
    )


async def closed_with(client, message: str) -> bool:
    assert await client.receive() == error(message, None)
    closing = await client.receive_event()
    return (closing["type"], closing["code"]) == ("websocket.close", 1008)


@sync_to_async
def revoke(key) -> None:
    from accounts import services
    from accounts.models import ApiKey

    services.revoke_api_key(key.user, ApiKey.objects.get(public_key=key.api_key).pk)


async def test_revoking_the_key_closes_the_private_subscription_it_signed(ws, markets, alice):
    client = await subscribed(ws, "account.orderUpdate", signature=alice.signature())

    await revoke(alice)

    assert await closed_with(client, "Private streams ended: API key revoked")


async def test_revoking_another_key_of_the_user_leaves_the_subscription_open(ws, markets, api_key, alice):
    spare = await sync_to_async(api_key)("alice", user=alice.user)
    client = await subscribed(ws, "account.orderUpdate", signature=alice.signature())

    await revoke(spare)

    update = order_update("SOL_USDC", "60")
    await engine_sends(f"account.orderUpdate.{alice.user.pk}", ("account.orderUpdate", update))
    assert await client.receive() == {"stream": "account.orderUpdate", "data": update}


async def test_disabling_the_account_closes_its_private_subscriptions(ws, markets, alice):
    client = await subscribed(ws, "account.balanceUpdate", signature=alice.signature())

    alice.user.is_active = False
    await sync_to_async(alice.user.save)()

    assert await closed_with(client, "Private streams ended: account disabled")


async def test_logging_out_closes_the_browsers_private_subscriptions(ws, markets, make_user):
    from django.conf import settings
    from django.test import Client as HttpClient

    user = await sync_to_async(make_user)("carol")
    browser = HttpClient()
    await sync_to_async(browser.force_login)(user)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME]
    client = await ws(headers=OUR_PAGE + [(b"cookie", f"{cookie.key}={cookie.value}".encode())])
    await client.subscribe("account.orderUpdate")
    await client.settle()

    await sync_to_async(browser.post)("/logout")

    assert await closed_with(client, "Private streams ended: logged out")


async def test_the_engine_is_told_which_accounts_have_a_private_subscriber(ws, markets, alice, redis_conn):
    from contract.names import PRIVATE_SUBSCRIBERS_KEY

    account = str(alice.user.pk).encode()
    first, second = await ws(), await ws()
    await first.subscribe("account.orderUpdate", "account.balanceUpdate", signature=alice.signature())
    await first.settle()
    assert redis_conn.hgetall(PRIVATE_SUBSCRIBERS_KEY) == {account: b"1"}
    await second.subscribe("account.orderUpdate.SOL_USDC", signature=alice.signature())
    await second.settle()
    assert redis_conn.hgetall(PRIVATE_SUBSCRIBERS_KEY) == {account: b"2"}
    await first.unsubscribe("account.orderUpdate")
    await first.settle()
    assert redis_conn.hgetall(PRIVATE_SUBSCRIBERS_KEY) == {account: b"2"}  # balanceUpdate is still on
    await first.unsubscribe("account.balanceUpdate")
    await first.settle()
    assert redis_conn.hgetall(PRIVATE_SUBSCRIBERS_KEY) == {account: b"1"}
    await second.close()
    assert redis_conn.hgetall(PRIVATE_SUBSCRIBERS_KEY) == {}


@pytest.fixture
def memberships(monkeypatch):
    """The group joins and leaves made on the channel layer, as ``(action, group)``, in order."""
    layer = get_channel_layer()
    made: list[tuple[str, str]] = []
    add, discard = layer.group_add, layer.group_discard

    async def group_add(group, channel):
        made.append(("join", group))
        await add(group, channel)

    async def group_discard(group, channel):
        made.append(("leave", group))
        await discard(group, channel)

    monkeypatch.setattr(layer, "group_add", group_add)
    monkeypatch.setattr(layer, "group_discard", group_discard)
    return made


async def test_a_process_joins_a_public_group_once_for_all_its_connections(ws, markets, memberships):
    first, second = await ws(), await ws()
    for client in (first, second):
        await client.subscribe("trade.SOL_USDC")
        await client.settle()
    assert memberships == [("join", "trade.SOL_USDC")]
    await first.unsubscribe("trade.SOL_USDC")
    await first.settle()
    assert memberships == [("join", "trade.SOL_USDC")]
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await second.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}
    assert await first.nothing()
    await second.close()
    assert memberships == [("join", "trade.SOL_USDC"), ("leave", "trade.SOL_USDC")]


async def test_with_per_connection_fanout_each_connection_joins_the_group_itself(
    ws, markets, memberships, monkeypatch
):
    from streams import consumers

    monkeypatch.setattr(consumers, "FANOUT_PER_PROCESS", False)
    first, second = await ws(), await ws()
    for client in (first, second):
        await client.subscribe("trade.SOL_USDC")
        await client.settle()
    assert memberships == [("join", "trade.SOL_USDC"), ("join", "trade.SOL_USDC")]
    await engine_sends("trade.SOL_USDC", ("trade.SOL_USDC", TRADE))
    assert await first.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}
    assert await second.receive() == {"stream": "trade.SOL_USDC", "data": TRADE}
