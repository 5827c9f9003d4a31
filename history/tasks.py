"""The worker's periodic check of the engine against the database (Celery beat)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from . import services, state

log = logging.getLogger(__name__)

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
