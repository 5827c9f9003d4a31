"""Redis killed (``kill -9``) under load and started again on the same port and directory: its
append-only file brings the command log back, and every process carries on."""

from __future__ import annotations

import re
import time

import pytest

from history.models import Order

from .conftest import Load, assert_exchange_consistent

pytestmark = pytest.mark.services


def test_redis_killed_and_restarted_under_load_loses_nothing_and_nobody_restarts(cluster):
    engine, web, worker = cluster.engines[0], cluster.web, cluster.worker
    pids = (engine.pid, web.pid, worker.pid)
    load = Load(cluster, seed=3).start()
    time.sleep(3)

    killed_at = time.monotonic()
    cluster.redis.kill9()
    time.sleep(0.5)
    status_while_down = cluster.status()
    time.sleep(0.5)
    restarting_at = time.monotonic()
    cluster.redis.start()
    restarted_at = time.monotonic()
    cluster.wait_until(
        lambda: "reconnected" in engine.stderr(), 30, "the engine to reconnect to the restarted Redis"
    )
    cluster.wait_status("Ok")
    time.sleep(2)
    load.stop()

    # The same processes, all alive: none of them needed a restart.
    assert (engine.pid, web.pid, worker.pid) == pids
    assert engine.running() and web.running() and worker.running(), cluster.logs()
    log = engine.stderr()
    assert re.search(r"lost Redis \(.*\); reconnecting", log), log[-3000:]
    assert log.index("; reconnecting") < log.index("reconnected to Redis"), log[-3000:]
    # While Redis was down the web said so: the engine is unreachable and orders are refused
    # with 503 (none hung until the reply timeout, none failed otherwise).
    assert status_while_down["status"] == "Maintenance", status_while_down
    assert "Redis unreachable" in status_while_down["message"], status_while_down
    during = [r for r in load.replies if r.sent > killed_at + 0.1 and r.done < restarting_at]
    assert during, "no request was sent while Redis was down"
    assert {r.status for r in during} == {503}, [(r.status, r.body) for r in during]
    after = [r for r in load.replies if r.sent > restarted_at + 1]
    assert len([r for r in after if r.acknowledged]) >= 20
    # Every order acknowledged before the kill is in the database (once persistence caught up,
    # which the checks below wait for).
    before = [r for r in load.acknowledged() if r.done < killed_at]
    assert len(before) >= 20

    assert_exchange_consistent(cluster, load, engine)
    stored = set(
        Order.objects.filter(order_id__in={r.order_id for r in before}).values_list("order_id", flat=True)
    )
    assert sorted({r.order_id for r in before} - stored) == []
