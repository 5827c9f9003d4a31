"""A second engine started while one serves: it stops at once, the first serves on."""

from __future__ import annotations

import time

import pytest

from .conftest import Load, assert_exchange_consistent

pytestmark = pytest.mark.services


def test_a_second_engine_exits_at_once_and_the_first_keeps_serving(cluster):
    first = cluster.engines[0]
    load = Load(cluster, seed=1).start()
    time.sleep(3)

    second = cluster.start_engine(wait=False)
    code = second.wait(timeout=20)
    ran_for = time.monotonic() - second.started_at
    second_exited = time.monotonic()

    assert code == 2, cluster.logs()
    assert ran_for < 3.0, f"the second engine took {ran_for:.1f} s to give up"
    [line] = second.stderr().splitlines()
    assert line.startswith("error: another engine holds the lease"), line
    assert f"pid {first.pid}" in line  # it names the holder
    # The first engine was never interrupted: it holds the lease, heartbeats, and acknowledges.
    assert first.running()
    assert f"pid {first.pid}" in cluster.lease_holder()
    assert cluster.engine_status()["pid"] == first.pid
    time.sleep(1.5)
    load.stop()
    assert [r for r in load.replies if not r.acknowledged and r.status not in (400, 404)] == []
    assert len([r for r in load.acknowledged() if r.sent > second_exited]) >= 20
    assert cluster.status()["status"] == "Ok"

    assert_exchange_consistent(cluster, load, first)
