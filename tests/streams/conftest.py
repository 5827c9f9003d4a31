"""Fixtures for the websocket tests: connected clients (in-process, through the real ASGI
application and the real Redis channel layer), signed API keys, and a real web server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.db import connections
from nacl.signing import SigningKey

from streams import auth, markets


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test runs in its own event loop; a channel layer keeps per-loop state, so start anew."""
    from channels.layers import channel_layers

    from exchange_site.redis_client import get_async_redis

    channel_layers.backends.clear()
    get_async_redis.cache_clear()  # its connections belong to the loop that made them
    markets.forget()
    yield
    channel_layers.backends.clear()
    get_async_redis.cache_clear()


class Client:
    """A websocket client on the in-process application, speaking JSON. (``channels.testing``
    cannot be imported without daphne, so this is its WebsocketCommunicator in a few lines.)"""

    def __init__(self, headers: list[tuple[bytes, bytes]] | None = None):
        from exchange_site.asgi import application

        scope = {
            "type": "websocket",
            "path": "/",
            "query_string": b"",
            "headers": headers or [],
            "subprotocols": [],
        }
        self.comm = ApplicationCommunicator(application, scope)
        self.tasks: list[asyncio.Task] = []  # readers a test started on this client

    async def connect(self) -> Client:
        await self.comm.send_input({"type": "websocket.connect"})
        assert (await self.comm.receive_output(3))["type"] == "websocket.accept"
        return self

    async def send(self, frame: dict | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self.comm.send_input({"type": "websocket.receive", "text": text})

    async def receive_event(self, timeout: float = 3) -> dict:
        return await self.comm.receive_output(timeout)

    async def subscribe(self, *streams: str, **extra) -> None:
        await self.send({"method": "SUBSCRIBE", "params": list(streams), **extra})

    async def unsubscribe(self, *streams: str, **extra) -> None:
        await self.send({"method": "UNSUBSCRIBE", "params": list(streams), **extra})

    async def receive(self, timeout: float = 3) -> dict:
        event = await self.comm.receive_output(timeout)
        assert event["type"] == "websocket.send", event
        return json.loads(event["text"])

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.comm.receive_nothing(timeout)

    async def settle(self) -> None:
        """Wait until every frame sent so far has been handled: frames are handled in order, so
        once a bad frame's error comes back, everything sent before it has taken effect."""
        await self.send("not json: settle")
        reply = await self.receive()
        assert reply == {"id": None, "error": {"code": 4006, "message": "Invalid frame: not JSON"}}

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.comm.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.comm.wait(3)


async def subscribed(ws, *streams: str, **extra) -> Client:
    """A client opened with ``ws``, subscribed to ``streams`` (``extra`` in the frame) once the
    subscription has taken effect."""
    client = await ws()
    await client.subscribe(*streams, **extra)
    await client.settle()
    return client


@pytest_asyncio.fixture
async def ws():
    """``await ws()`` opens a connected client; all are closed after the test."""
    clients: list[Client] = []

    async def open_client(headers=None) -> Client:
        client = await Client(headers).connect()
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        with contextlib.suppress(Exception):
            await client.close()
    # The consumer's queries ran on asgiref's worker thread; close that thread's connection so
    # the test database can be dropped at the end of the session.
    await sync_to_async(connections.close_all)()


class Key:
    """An API key of a user: ``signature()`` signs a subscribe frame as a client does."""

    def __init__(self, user, secret: SigningKey):
        self.user = user
        self.secret = secret
        self.api_key = base64.b64encode(bytes(secret.verify_key)).decode()

    @staticmethod
    def now() -> int:
        return auth.now_ms()

    def signature(self, timestamp: int | None = None, window: int = 5000, message: str | None = None) -> list:
        timestamp = auth.now_ms() if timestamp is None else timestamp
        message = message or f"instruction=subscribe&timestamp={timestamp}&window={window}"
        sig = base64.b64encode(self.secret.sign(message.encode()).signature).decode()
        return [self.api_key, sig, str(timestamp), str(window)]


@pytest.fixture
def api_key(transactional_db, make_user):
    """``api_key("alice")``: a user with a registered API key."""
    from accounts.models import ApiKey

    def make(username: str, user=None) -> Key:
        user = user or make_user(username)
        key = Key(user, SigningKey.generate())
        ApiKey.objects.create(user=user, public_key=key.api_key, label="test")
        return key

    return make


@pytest.fixture
def web_server(start_web_server):
    """A running web server; its streams drop a client whose socket took nothing for 2 s."""
    return start_web_server(STREAMS_MAX_PENDING_FRAMES="1000000", STREAMS_MAX_SEND_STALL_S="2")


@pytest.fixture
def alice(api_key) -> Key:
    """A user with a registered API key."""
    return api_key("alice")
