"""The Procfile's lines under systemd: ``manage.py systemd_units`` writes a service per line that
runs this installation's Python, restarts, and has time to stop cleanly."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

from operations.management.commands.systemd_units import STOP_TIMEOUT_S, procfile_lines
from tests.conftest import ROOT


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def test_every_procfile_line_but_the_demo_becomes_a_service_of_the_target(tmp_path):
    call_command(
        "systemd_units", output=str(tmp_path), env_file="/etc/exchange.env", stdout=open("/dev/null", "w")
    )

    lines = [name for name, _ in procfile_lines(ROOT / "Procfile")]
    names = [name for name in lines if name != "simulator"]
    assert "simulator" in lines
    assert sorted(p.name for p in tmp_path.glob("*.service")) == sorted(
        f"exchange-{n}.service" for n in names
    )
    target = read_unit(tmp_path / "exchange.target")
    assert target["Unit"]["Wants"].split() == [f"exchange-{n}.service" for n in names]


def test_the_engine_runs_this_python_with_the_settings_file_and_time_to_stop(tmp_path):
    call_command(
        "systemd_units", output=str(tmp_path), env_file="/etc/exchange.env", stdout=open("/dev/null", "w")
    )

    service = read_unit(tmp_path / "exchange-engine.service")["Service"]

    assert service["ExecStart"] == f"{sys.executable} manage.py run_engine"
    assert service["WorkingDirectory"] == str(ROOT)
    assert service["EnvironmentFile"] == "/etc/exchange.env"
    assert (service["Restart"], service["KillMode"], service["TimeoutStopSec"]) == (
        "always",
        "mixed",
        str(STOP_TIMEOUT_S),
    )
    worker = read_unit(tmp_path / "exchange-worker.service")["Service"]
    assert worker["ExecStart"].startswith(f"{Path(sys.executable).parent / 'celery'} -A exchange_site worker")


def test_with_a_redis_of_ones_own_the_embedded_one_is_left_out(tmp_path):
    call_command("systemd_units", output=str(tmp_path), without_redis=True, stdout=open("/dev/null", "w"))

    assert not (tmp_path / "exchange-redis.service").exists()
    assert "exchange-redis.service" not in read_unit(tmp_path / "exchange-engine.service")["Unit"]["After"]


def test_systemd_finds_nothing_wrong_in_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    env_file = tmp_path / "exchange.env"
    env_file.write_text("DATABASE_URL=postgres://exchange@127.0.0.1:5432/exchange\n")
    call_command("systemd_units", output=str(tmp_path), env_file=str(env_file), stdout=open("/dev/null", "w"))

    units = sorted(str(p) for pattern in ("*.service", "*.target") for p in tmp_path.glob(pattern))
    checked = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True)

    assert (checked.returncode, checked.stderr) == (0, "")


def test_the_demo_market_bots_only_when_asked_for(tmp_path):
    call_command("systemd_units", output=str(tmp_path), with_simulator=True, stdout=open("/dev/null", "w"))

    service = read_unit(tmp_path / "exchange-simulator.service")["Service"]
    assert service["ExecStart"] == f"{sys.executable} manage.py simulate_market"
