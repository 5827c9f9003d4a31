"""How stream frames leave a process: the one way the engine, the worker and the web send them.

A frame is ``{"stream": name, "data": payload}``, as a websocket client receives it. A public
frame goes out twice: its ``data`` as plain JSON on the Redis pub/sub channel of its stream's
name (for subscribers in any language), and inside a channel-layer message to the group of the
same name (the websocket consumers). Private frames go only to an account's group. The
channel-layer message carries a list of frames, so a group gets one message per flush, never
one per event.

Who sends what:

* the engine process (``engine.publisher``): every trade, depth, ticker and account frame,
  inside its fenced flush script, or through ``send`` when the channel layer lives elsewhere;
* the persistence worker (``history.tasks``): the kline frames, built from the candle rows it
  has just written (only the database knows a candle's totals);
* the web (``streams.credentials``): the message that closes the private streams of a revoked
  key, a disabled user or a logged-out session.

Klines and trades: a kline frame built from a batch always follows the trade frames of the
trades it includes. The engine puts a batch into the persistence outbox in the same fenced
script (one MULTI) that PUBLISHes its trades' frames, sends its channel-layer frames that the
script could not carry next, and only then queues the Celery task that names the batch
(``engine.publisher.Publisher.send``); the worker reads the batch from the outbox, writes it,
and only then publishes the klines. The engine's final frame of a candle (``X: true``) goes out
once the database holds every trade the engine put in it (``history.tasks.close_candles``).

No Django here: a channel layer is any object with an asynchronous ``group_send``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping

from contract import jsonfast
from contract.names import CHANNEL_MESSAGE_TYPE, CREDENTIAL_ENDED


def channel_message(frames: list[dict]) -> dict:
    """The channel-layer message that hands ``frames`` to a group's websocket consumers."""
    return {"type": CHANNEL_MESSAGE_TYPE, "frames": frames}


def ended_message(reason: str) -> dict:
    """The channel-layer message that closes the private streams resting on a credential."""
    return {"type": CREDENTIAL_ENDED, "reason": reason}


def pubsub_args(frames: Iterable[dict]) -> list:
    """``[channel, payload, channel, payload, ...]``: each public frame's data as plain JSON on
    its stream's pub/sub channel."""
    args: list = []
    for frame in frames:
        args.append(frame["stream"])
        args.append(jsonfast.dumps(frame["data"]))
    return args


def by_stream(frames: Iterable[dict]) -> dict[str, list[dict]]:
    """Public frames grouped by their stream, which is their group's name; order kept."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for frame in frames:
        groups[frame["stream"]].append(frame)
    return groups


async def send(layer, messages: Mapping[str, dict]) -> dict[str, Exception]:
    """``messages`` (group -> channel-layer message) through ``layer``'s ``group_send``, all at
    once; the groups whose send failed, with why. A failed send is not retried: delivery
    through the layer is at most once anyway (every frame carries ids a client resyncs by), and
    the sender decides how loudly to say so."""
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in messages.items()), return_exceptions=True
    )
    return {
        group: result
        for group, result in zip(messages, results, strict=True)
        if isinstance(result, Exception)
    }
