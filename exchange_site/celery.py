import gc
import os

from celery import Celery, signals
from kombu.serialization import register

from contract import jsonfast

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

# The engine hands over thousands of events per batch: orjson keeps that off its hot path.
register(
    "orjson", jsonfast.dumps, jsonfast.loads, content_type="application/x-orjson", content_encoding="binary"
)

app = Celery("exchange_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The cyclic garbage collector, left automatic, runs full collections in the middle of every
# persistence batch: decoding and writing one creates hundreds of thousands of tuples and lists
# that live until the batch ends, so they reach the old generation and trigger full passes over
# the whole heap. They are acyclic and freed by reference counting, so a process that runs
# tasks in a worker freezes what it holds for its whole life (Django, the app) at its first
# task, pauses the automatic collector, and collects every ``COLLECT_EVERY_TASKS`` tasks, and
# after every task that failed (its traceback holds its frames, and their batch, in a cycle).
# Worker processes only: never a web process or a test run that calls a task in-process.
COLLECT_EVERY_TASKS = 20
_worker_process = False
_tasks_since_collect = 0


@signals.worker_init.connect
def _mark_worker_process(**_kwargs) -> None:
    global _worker_process
    _worker_process = True  # prefork children inherit it


@signals.task_prerun.connect
def _pause_collector(**_kwargs) -> None:
    if _worker_process and gc.isenabled():
        gc.collect()
        gc.freeze()
        gc.disable()


@signals.task_postrun.connect
def _collect_now_and_then(state: str | None = None, **_kwargs) -> None:
    global _tasks_since_collect
    if not _worker_process:
        return
    _tasks_since_collect += 1
    if _tasks_since_collect >= COLLECT_EVERY_TASKS or state != "SUCCESS":
        _tasks_since_collect = 0
        gc.collect()
