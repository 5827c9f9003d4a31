"""Websocket consumer at ``/``: the Backpack-compatible stream protocol (shared/API.md).

Thin glue: ``protocol`` parses client frames, ``names`` says what a stream name means,
``subscriptions`` keeps this connection's streams and renders frames, ``auth`` checks signed
private subscriptions, ``hub`` brings public streams into the process once, ``outbox`` writes
to the socket. The engine sends one message per group per loop,
``{"type": "stream.frames", "frames": [{"stream", "data"}, ...]}``; each frame goes out as its
own text frame ``{"stream": <name as subscribed>, "data": ...}``.

``STREAMS_FANOUT=connection`` puts every connection's own channel in the public groups too
(Channels' usual shape), for comparison in bench/ws_fanout.py; the default, ``process``, goes
through the hub.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from contract.names import CHANNEL_MESSAGE_TYPE, CREDENTIAL_ENDED
from exchange_site.ws_protocol import WRITE_TEXTS
from operations.metrics import WEBSOCKETS
from streams import auth, credentials, markets, presence
from streams.hub import GROUP_REFRESH_S, get_hub
from streams.names import StreamSpec, is_private_group, parse_stream
from streams.outbox import Outbox
from streams.protocol import SUBSCRIBE, ProtocolError, Request, error_frame, parse_request
from streams.subscriptions import Subscriptions

log = logging.getLogger(__name__)

FANOUT_PER_PROCESS = os.environ.get("STREAMS_FANOUT", "process") != "connection"
SLOW_CLIENT_CLOSE_CODE = 1008
CREDENTIAL_ENDED_CLOSE_CODE = 1008  # policy violation: the credential is no longer valid


class StreamConsumer(AsyncWebsocketConsumer):
    # No channel of its own for every connection (channels' default): a connection that only
    # reads public streams gets them from the hub, and an idle per-connection receive() is not
    # free (with RedisChannelLayer each takes part in the process's receive-lock hand-offs, with
    # the pub/sub layer each is a Redis SUBSCRIBE). A connection opens one when it first needs
    # it, for private streams (``_own_channel``).
    channel_layer_alias = None

    async def connect(self) -> None:
        self.subscriptions = Subscriptions()
        self.outbox = Outbox(self._send_text, (self.scope.get("extensions") or {}).get(WRITE_TEXTS))
        self.dropped = False
        self.own_channel: str | None = None
        self.credential_groups: list[str] = []  # see streams.credentials
        self._tasks: list[asyncio.Task] = []
        await self.accept()
        WEBSOCKETS.inc()
        self.counted = True
        self.outbox.start()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            WEBSOCKETS.dec()
            self.counted = False
        for task in self._tasks:
            task.cancel()
        await self.outbox.stop()
        await self._unsubscribe_all()

    # --- from the engine ---------------------------------------------------------------

    async def stream_frames(self, message: dict) -> None:
        """A message on this connection's own channel: private streams (and, with
        ``STREAMS_FANOUT=connection``, public ones)."""
        if self.dropped:
            return
        # With channels_redis the same dict reaches every local member of a group: cache the
        # encoded frames on it so each is encoded once per process.
        encoded = message.setdefault("_encoded", {})
        texts = self.subscriptions.render(message["frames"], encoded)
        if texts:
            self.offer(texts)

    def offer(self, texts: list[str]) -> None:
        """Queue frames for the socket (the hub calls this for public streams)."""
        if self.dropped:
            return
        if self.outbox.overloaded():
            self.dropped = True
            asyncio.ensure_future(self._drop_slow_client())
            return
        self.outbox.put(texts)

    async def _drop_slow_client(self) -> None:
        """Too far behind: stop feeding it at once, then close (the close itself may wait on the
        client's full socket, so it runs on its own and holds up nothing)."""
        self.dropped = True
        log.info(
            "dropping slow websocket client %s (%d frames pending)",
            self.scope.get("client"),
            len(self.outbox),
        )
        await self.outbox.stop()
        await self._unsubscribe_all()
        try:
            await self.close(code=SLOW_CLIENT_CLOSE_CODE, reason="too slow: frames were not read in time")
        except Exception as exc:  # already gone
            log.debug("closing a slow client failed: %r", exc)

    # --- from the client ---------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.dropped:
            return
        try:
            request = parse_request(text_data if text_data is not None else bytes_data)
            if request.method == SUBSCRIBE:
                await self._subscribe(request)
            else:
                await self._remove(request.params)
        except ProtocolError as exc:
            self.outbox.put([error_frame(exc.request_id, exc.message)])

    async def _subscribe(self, request: Request) -> None:
        specs = [parse_stream(name, request.id) for name in request.params]
        missing = await markets.unknown({s.market for s in specs if s.market is not None})
        if missing:
            raise ProtocolError(f"Invalid stream: unknown market {', '.join(missing)}", request.id)
        account, rests_on = await self._account_for(request, specs)
        self.subscriptions.check_subscribe(specs, account, request.id)
        had_account = self.subscriptions.account
        joined = self.subscriptions.add(specs, account)
        if had_account is None and self.subscriptions.account is not None:
            await presence.acquire(self.subscriptions.account)
        if any(s.private for s in specs):
            for group in rests_on:  # see streams.credentials
                if group not in self.credential_groups:
                    self.credential_groups.append(group)
                    await get_channel_layer().group_add(group, await self._own_channel())
        for group in joined:
            await self._join(group)

    async def _account_for(self, request: Request, specs: list[StreamSpec]) -> tuple[int | None, list[str]]:
        """The account of a frame's private streams, the signature's, else the browser session's,
        and the credential groups it rests on. A signature is checked whenever one is sent, even
        with public streams only."""
        if request.signature is not None:
            account = await auth.authenticate(request.signature, request.id)
            key = credentials.key_group(request.signature.api_key)
            return account, [credentials.user_group(account), key]
        if not any(s.private and s.source for s in specs):
            return None, []
        account = await auth.session_account(self.scope)
        if account is None:
            raise ProtocolError("Invalid signature: private streams need a signed subscription", request.id)
        session = credentials.session_group(auth.session_key(self.scope) or "")
        return account, [credentials.user_group(account), session]

    async def _credential_ended(self, reason: str) -> None:
        """What authorized this connection's private streams ended: it closes, as a key or a
        session refused from now on would be at its next subscribe."""
        self.dropped = True
        await self.outbox.stop()  # nothing more of what was queued goes out
        await self._unsubscribe_all()
        try:
            await self._send_text(error_frame(None, f"Private streams ended: {reason}"))
            await self.close(code=CREDENTIAL_ENDED_CLOSE_CODE, reason=reason)
        except Exception as exc:  # already gone
            log.debug("closing after the credential ended failed: %r", exc)

    # --- groups --------------------------------------------------------------------------

    def _via_hub(self, group: str) -> bool:
        return FANOUT_PER_PROCESS and not is_private_group(group)

    async def _join(self, group: str) -> None:
        if self._via_hub(group):
            await get_hub().join(group, self)
        else:
            await get_channel_layer().group_add(group, await self._own_channel())

    async def _leave(self, group: str) -> None:
        if self._via_hub(group):
            await get_hub().leave(group, self)
        elif self.own_channel is not None:
            await get_channel_layer().group_discard(group, self.own_channel)

    async def _own_channel(self) -> str:
        if self.own_channel is None:
            self.own_channel = await get_channel_layer().new_channel()
            self._tasks += [
                asyncio.ensure_future(self._receive_own()),
                asyncio.ensure_future(self._refresh_groups()),
            ]
        return self.own_channel

    async def _receive_own(self) -> None:
        layer = get_channel_layer()
        while True:
            message = await layer.receive(self.own_channel)
            if message.get("type") == CHANNEL_MESSAGE_TYPE:
                await self.stream_frames(message)
            elif message.get("type") == CREDENTIAL_ENDED:
                await self._credential_ended(message.get("reason", "credential ended"))
                return

    async def _remove(self, names: Iterable[str]) -> None:
        had_account = self.subscriptions.account
        for group in self.subscriptions.remove(names):
            await self._leave(group)
        if had_account is not None and self.subscriptions.account is None:
            await presence.release(had_account)

    async def _unsubscribe_all(self) -> None:
        await self._remove(self.subscriptions.names())
        groups, self.credential_groups = self.credential_groups, []
        for group in groups:
            await get_channel_layer().group_discard(group, self.own_channel)

    async def _refresh_groups(self) -> None:
        """channels_redis forgets group members after ``group_expiry`` (a day); a connection
        that lives longer must re-join or it silently stops receiving."""
        while True:
            await asyncio.sleep(GROUP_REFRESH_S)
            for group in [*self.subscriptions.groups(), *self.credential_groups]:
                if not self._via_hub(group):
                    await get_channel_layer().group_add(group, self.own_channel)

    async def _send_text(self, text: str) -> None:
        # Straight to the ASGI server: the per-frame cost is what limits fan-out, and the
        # consumer's send() only adds two coroutine layers around this.
        await self.base_send({"type": "websocket.send", "text": text})
