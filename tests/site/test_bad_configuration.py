"""Bad configuration stops a process with one clear line on stderr, not a traceback."""

from __future__ import annotations

import os
import socket

import pytest

from tests.conftest import database_url_for_subprocesses, free_port, run_manage


@pytest.fixture(autouse=True)
def reachable_database(db, monkeypatch):
    """Everything but the setting under test points at the (reachable) test database."""
    monkeypatch.setenv("DATABASE_URL", database_url_for_subprocesses())


def test_unreachable_database_is_one_line(tmp_path):
    port = free_port()
    result = run_manage("preflight", DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/nope")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: database unreachable (django.db.backends.postgresql):")
    assert "Traceback" not in result.stderr


def test_unreachable_redis_is_one_line():
    port = free_port()
    result = run_manage("preflight", REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: Redis unreachable at redis://127.0.0.1:{port}/0: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_manage("preflight", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr == f"error: port {port} on 127.0.0.1 is already in use (set PORT to another one)\n"


def test_redis_password_is_never_printed():
    port = free_port()
    result = run_manage("preflight", REDIS_URL=f"redis://user:s3cret@127.0.0.1:{port}/0")
    assert "s3cret" not in result.stderr
    assert f"redis://***@127.0.0.1:{port}/0" in result.stderr


def test_run_engine_with_unreachable_redis_is_one_line():
    port = free_port()
    result = run_manage("run_engine", REDIS_URL=f"redis://127.0.0.1:{port}/0", PREFLIGHT_REDIS_WAIT_S="0")
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"error: Redis unreachable at redis://127.0.0.1:{port}/0")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["run_engine", "run_web"])
def test_a_process_started_before_migrate_says_so_in_one_line(tmp_path, command):
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"

    result = run_manage(command, DATABASE_URL=fresh, PORT=str(free_port()))

    assert result.returncode == 2
    assert result.stderr.startswith("error: the database lacks ")
    assert result.stderr.endswith(" migration(s): run `python manage.py migrate` first\n")
    assert "Traceback" not in result.stderr


def test_debug_and_with_it_the_faucet_is_off_unless_asked_for():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    show = "from django.conf import settings; print(settings.DEBUG)"
    result = run_manage("shell", "-c", show, env=env)

    assert result.stdout.strip().splitlines()[-1] == "False"


def test_behind_tls_the_deployment_check_finds_no_transport_warning():
    result = run_manage("check", "--deploy", DEBUG="false", HTTPS="true", SECRET_KEY="k" * 60)

    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning not in result.stderr + result.stdout


def test_a_redis_that_can_lose_acknowledged_commands_is_refused_in_one_line(settings):
    # The machine's test Redis keeps nothing on disk.
    result = run_manage("preflight", "--port", str(free_port()))

    assert result.returncode == 2
    assert result.stderr == (
        f"error: Redis at {settings.REDIS_URL} has appendonly no, not yes: without the append-only file a"
        " restart loses the command log; set REDIS_ACCEPT_DATA_LOSS=true to run on it anyway\n"
    )


def test_a_redis_that_can_lose_commands_is_accepted_when_the_risk_is(settings):
    result = run_manage("preflight", "--port", str(free_port()), REDIS_ACCEPT_DATA_LOSS="true")

    assert (result.returncode, result.stderr) == (0, "")
