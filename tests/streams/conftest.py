"""Fixtures for the websocket tests: connected clients (in-process, through the real ASGI
application and the real Redis channel layer), signed API keys, and a real web server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.db import connections
from nacl.signing import SigningKey

from streams import auth, markets
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


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


class WebServer:
    """``manage.py run_web`` (uvicorn) as a subprocess on a free port of 127.0.0.1."""

    def __init__(self, env_extra: dict | None = None, workers: int = 1):
        from tests.conftest import database_url_for_subprocesses

        self.workers = workers
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            **(env_extra or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self, log_path: Path, timeout: float = 30) -> None:
        log = open(log_path, "ab")
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_web",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"web server did not start; log:\n{log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def web_server(transactional_db, tmp_path):
    """A running web server; its streams drop a client whose socket took nothing for 2 s."""
    server = WebServer({"STREAMS_MAX_PENDING_FRAMES": "1000000", "STREAMS_MAX_SEND_STALL_S": "2"})
    server.start(tmp_path / "web.log")
    yield server
    server.stop()
