"""The persistence worker's Celery tasks: writing the engine's event batches, closing candles,
and the periodic check of the engine against the database.

The engine process sends ``persistence.persist_events`` with one batch of events (never one
task per trade). The task writes the batch and its candles in one transaction
(``history.persistence``), then publishes the changed open candles as websocket kline events.
When buckets end, the engine sends ``persistence.close_candles`` (after the batches holding
their trades), which publishes each candle's final frame with ``X: true``. The task names are
the engine's (``contract.names``) and must not change: queued tasks carry them.

Delivery is at-least-once: the settings acknowledge a message only after the task ran
(``acks_late``) and requeue it if the worker process dies (``reject_on_worker_lost``); a
retryable failure (database down, deadlock, market row not there yet) retries the same batch
later. Running a batch twice changes nothing, which is what makes at-least-once safe.
"""

from __future__ import annotations

import functools
import logging
import time

import redis
from asgiref.sync import async_to_sync
from celery import shared_task, signals
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from contract import frames, jsonfast, persist_batch
from contract.names import CLOSE_CANDLES_TASK, PERSIST_TASK
from contract.persist_outbox import RESEND_AFTER_MS
from exchange_site.redis_client import get_redis

from . import persistence, services, state
from .outbox import outbox

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 30
OUTBOX_SWEEP_EVERY_S = 60
# A close can overtake the batch with its last trades (a worker pool runs tasks concurrently):
# look again after 0.2 s, then backing off to every 30 s, for about ten minutes in all, then give
# up on that final frame (the candle itself is stored either way).
CLOSE_RETRY_S = 0.2
CLOSE_MAX_DELAY_S = 30
CLOSE_MAX_RETRIES = 28


def announce(entry_id: str, events: list[dict] | None = None) -> None:
    """Tell persistence that a batch waits in the outbox under ``entry_id`` (the engine's flush
    put it there, ``engine.publisher``): what the engine process is handed to send its tasks."""
    persist_events.apply_async(args=[entry_id])


def hand_over(events: list[dict], queue: str | None = None) -> str:
    """Hand one batch of engine events to persistence from outside the engine (tools and tests
    standing in for it): packed into the outbox, and a task naming its entry. Returns the entry
    id."""
    entry_id = outbox().put(get_redis(), jsonfast.dumps(persist_batch.pack(events)))
    persist_events.apply_async(args=[entry_id], queue=queue)
    return entry_id


def requeue_outbox(queue: str | None = None) -> int:
    """Queue a task for every batch still in the persistence outbox: one whose message died with
    an engine or a worker is written now; one whose task is still queued is found gone, or
    written twice, which changes nothing. Returns how many."""
    ids = outbox().pending(get_redis())
    for entry_id in ids:
        persist_events.apply_async(args=[entry_id], queue=queue)
    if ids:
        log.warning("persistence outbox: %d batch(es) not yet written, queued again", len(ids))
    return len(ids)


@shared_task(name=PERSIST_TASK, bind=True, acks_late=True, max_retries=None)
def persist_events(self, batch: str | dict | list[dict]) -> dict:
    """Write one batch: the id of its entry in the persistence outbox (what the engine sends),
    or the batch itself (packed, or a list of event dicts)."""
    entry_id = batch if isinstance(batch, str) else None
    if entry_id is not None:
        try:
            payload = outbox().take(get_redis(), entry_id)
        except redis.RedisError as exc:
            raise self.retry(exc=exc, countdown=_retry_delay(self)) from exc
        if payload is None:  # written and removed already: a batch queued twice
            log.info("persistence outbox: %s already written", entry_id)
            return {"events": 0, "outbox": entry_id}
    try:
        if entry_id is not None:
            batch = jsonfast.loads(payload)
        result = persistence.persist_events(batch)
    except Exception as exc:
        if not persistence.is_retryable(exc):
            if entry_id is not None:
                log.error(
                    "persistence outbox: %s cannot be written (%r); moved to its dead letters", entry_id, exc
                )
                outbox().bury(get_redis(), entry_id)
            raise
        delay = _retry_delay(self)
        log.warning("persist_events: %s; retrying in %.1fs", exc, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    if entry_id is not None:
        # Only once committed (a caller's own transaction may still be open around this one).
        covered_to = (batch.get("coverage") or (None, None))[1]
        transaction.on_commit(functools.partial(_forget, entry_id, covered_to))
        _resend_overdue(self)
    publish_klines(persistence.kline_frames(result))
    return {
        "events": result.events,
        "trades": result.trades,
        "fills": result.fills,
        "ledger": result.ledger,
        "candles": len(result.candles),
        "seconds": round(result.seconds, 4),
    }


@shared_task(name=CLOSE_CANDLES_TASK, bind=True, acks_late=True, max_retries=CLOSE_MAX_RETRIES)
def close_candles(self, closes: list[dict]) -> dict:
    """Publish the final frame of each closed candle once the database holds all its trades."""
    try:
        frames, pending = persistence.closed_kline_frames(closes)
    except Exception as exc:
        if not persistence.is_retryable(exc):
            raise
        frames, pending = [], closes
    publish_klines(frames)
    if pending:
        if self.request.retries < CLOSE_MAX_RETRIES:
            # Soon at first (a close usually overtakes its batch by milliseconds), then backing
            # off: under a persistence backlog the trades can be minutes late.
            countdown = min(CLOSE_RETRY_S * 2 ** min(self.request.retries, 10), CLOSE_MAX_DELAY_S)
            raise self.retry(args=[pending], countdown=countdown)
        log.warning("close_candles: the trades of %s never arrived; no final frame", pending)
    return {"published": len(frames), "given_up": len(pending)}


def _retry_delay(task) -> float:
    return min(2**task.request.retries * 0.1, MAX_RETRY_DELAY_S)


def _forget(entry_id: str, covered_to: int | None) -> None:
    try:
        outbox().done(get_redis(), entry_id, covered_to)
    except redis.RedisError:  # written twice later, which changes nothing
        log.warning("persistence outbox: could not remove %s", entry_id, exc_info=True)


_resent_at = 0.0


def _resend_overdue(task) -> None:
    """Now and then, queue again the outbox entries old enough that their message was probably
    lost with a worker that nobody restarted (a restart queues them all at once)."""
    global _resent_at
    now = time.monotonic()
    if now - _resent_at < OUTBOX_SWEEP_EVERY_S:
        return
    _resent_at = now
    try:
        overdue = outbox().pending(get_redis(), older_than_ms=RESEND_AFTER_MS)
    except redis.RedisError:
        return
    queue = (task.request.delivery_info or {}).get("routing_key")
    for entry_id in overdue:
        persist_events.apply_async(args=[entry_id], queue=queue)
    if overdue:
        log.warning("persistence outbox: %d batch(es) overdue, queued again", len(overdue))


def publish_klines(klines: list[dict]) -> None:
    """Publish kline frames as every stream frame goes out (``contract.frames``): pub/sub, then
    one channel-layer message per stream. Best effort: the candles are already stored, and a
    lost live update is corrected by the next one."""
    if not klines:
        return
    try:
        args = frames.pubsub_args(klines)
        pipe = get_redis().pipeline(transaction=False)
        for at in range(0, len(args), 2):
            pipe.publish(args[at], args[at + 1])
        pipe.execute()
        layer = get_channel_layer()
        if layer is not None:
            messages = {stream: frames.channel_message(f) for stream, f in frames.by_stream(klines).items()}
            for failed in async_to_sync(frames.send)(layer, messages).values():
                log.warning("publishing kline frames failed: %s", failed)
    except Exception:
        log.warning("publishing %d kline frames failed", len(klines), exc_info=True)


@signals.worker_ready.connect
def hand_over_the_outbox(sender=None, **_kwargs) -> None:
    """A worker that starts queues every batch still in the persistence outbox: a batch whose
    message died with a worker (see ``contract.persist_outbox``) is written now; one whose task is
    still queued is found gone, or written twice, which changes nothing."""
    # The queue this worker consumes (the engine's default one unless it was told otherwise).
    queues = [q.name for q in sender.task_consumer.queues] if sender is not None else []
    try:
        requeue_outbox(queues[0] if queues else None)
    except Exception:
        log.exception("persistence outbox: cannot read it; batches left there wait for the next start")


RECONCILE_TASK = "history.reconcile"


@shared_task(name=RECONCILE_TASK, ignore_result=True)
def reconcile() -> str:
    """Reconcile, log an error on any difference, then fold the checkpoints compared into one."""
    result = services.reconcile(settings.ENGINE_SNAPSHOT_DIR)
    if result.differences:
        log.error("reconcile: %s:\n%s", result.summary(), "\n".join(result.differences))
    elif result.compared:
        log.info("reconcile: %s", result.summary())
    else:
        log.warning("reconcile: %s", result.summary())
    state.compact()
    return result.summary()
