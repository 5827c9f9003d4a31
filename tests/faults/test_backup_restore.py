"""The restore drill of the README's "Running in production": back up what must be kept
together (the database, the engine's snapshot folder, Redis's append-only file) with the engine
stopped, lose all three, restore them, and the exchange serves the same state and reconciles
clean."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from django.db import connection

from .conftest import Load, assert_exchange_consistent
from .test_lost_snapshots import observed_state

pytestmark = pytest.mark.services


def pg(tool: str, *args: str) -> None:
    s = connection.settings_dict
    host, port, user = s.get("HOST") or "127.0.0.1", str(s.get("PORT") or 5432), s["USER"]
    done = subprocess.run([tool, "-h", host, "-p", port, "-U", user, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the drill backs up PostgreSQL")
def test_the_stopped_exchange_backed_up_wiped_and_restored_serves_the_same_state(cluster, tmp_path):
    load = Load(cluster, seed=8).start()
    time.sleep(4)
    load.stop()
    assert cluster.engines[0].terminate() == 0, cluster.logs()
    before = observed_state(cluster)
    cluster.wait_persisted()

    # Back up, the engine stopped: the database, the snapshot folder, Redis's files.
    backup = tmp_path / "backup"
    backup.mkdir()
    database = connection.settings_dict["NAME"]
    pg("pg_dump", "-Fc", "-d", database, "-f", str(backup / "database.dump"))
    shutil.copytree(cluster.snapshot_dir, backup / "snapshots")
    cluster.web.terminate()
    cluster.worker.terminate()
    cluster.r.shutdown()  # fsyncs the append-only file, then exits
    cluster.redis.proc.wait(10)
    shutil.copytree(cluster.redis.dir, backup / "redis")

    # Lose all three.
    flushed = cluster.manage("flush", "--noinput")
    assert flushed.returncode == 0, flushed.stderr
    shutil.rmtree(cluster.snapshot_dir)
    shutil.rmtree(cluster.redis.dir)

    # Restore, then start everything again.
    pg("pg_restore", "--clean", "--if-exists", "-d", database, str(backup / "database.dump"))
    shutil.copytree(backup / "snapshots", cluster.snapshot_dir)
    shutil.copytree(backup / "redis", cluster.redis.dir)
    cluster.redis.start()
    engine = cluster.start_engine()
    cluster.start_web_and_worker()

    assert observed_state(cluster) == before
    reconciled = cluster.manage("reconcile", "--wait", "30")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "the engine and the database agree at seq" in reconciled.stdout
    resumed = Load(cluster, seed=9).start()
    time.sleep(2)
    resumed.stop()
    assert len(resumed.acknowledged()) > 10
    assert_exchange_consistent(cluster, resumed, engine)
