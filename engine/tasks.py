"""Celery tasks of the engine app: persisting the engine's event batches, closing candles.

The engine process sends ``persistence.persist_events`` with one batch of events (never one
task per trade). The task writes the batch and its candles in one transaction
(``engine.persistence``), then publishes the changed open candles as websocket kline events.
When buckets end, the engine sends ``persistence.close_candles`` (after the batches holding
their trades), which publishes each candle's final frame with ``X: true``.

Delivery is at-least-once: the settings acknowledge a message only after the task ran
(``acks_late``) and requeue it if the worker process dies (``reject_on_worker_lost``); a
retryable failure (database down, deadlock, market row not there yet) retries the same batch
later. Running a batch twice changes nothing, which is what makes at-least-once safe.
"""

from __future__ import annotations

import logging

from celery import shared_task

from engine import persistence

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 30
# A close can overtake the batch with its last trades (a worker pool runs tasks concurrently):
# look again shortly, for about ten seconds, then give up on that final frame.
CLOSE_RETRY_S = 0.2
CLOSE_MAX_RETRIES = 50


@shared_task(name="persistence.persist_events", bind=True, acks_late=True, max_retries=None)
def persist_events(self, events: list[dict]) -> dict:
    try:
        result = persistence.persist_events(events)
    except Exception as exc:
        if not persistence.is_retryable(exc):
            raise
        delay = min(2**self.request.retries * 0.1, MAX_RETRY_DELAY_S)
        log.warning("persist_events: %s; retrying in %.1fs", exc, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    publish_klines(persistence.kline_frames(result))
    return {
        "events": result.events,
        "trades": result.trades,
        "fills": result.fills,
        "ledger": result.ledger,
        "candles": len(result.candles),
        "seconds": round(result.seconds, 4),
    }


@shared_task(name="persistence.close_candles", bind=True, acks_late=True, max_retries=CLOSE_MAX_RETRIES)
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
            raise self.retry(args=[pending], countdown=CLOSE_RETRY_S)
        log.warning("close_candles: the trades of %s never arrived; no final frame", pending)
    return {"published": len(frames), "given_up": len(pending)}


def publish_klines(frames: list[dict]) -> None:
    """Hand kline frames to the engine's publisher (pub/sub + channel layer). Best effort: the
    candles are already stored, and a lost live update is corrected by the next one."""
    if not frames:
        return
    try:
        from engine.publisher import publish_frames
    except ImportError:  # the publisher is not there (yet): nothing to publish with
        return
    try:
        publish_frames(frames)
    except Exception:
        log.warning("publishing %d kline frames failed", len(frames), exc_info=True)
