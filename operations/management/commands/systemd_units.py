"""``python manage.py systemd_units``: the Procfile's lines as systemd services.

One unit per line, run by this installation's Python (the virtualenv's, so no PATH is needed),
in this directory, with the settings from an environment file, restarted when it exits, and
given time to stop cleanly (the engine hands its last events over and writes its final snapshot
on SIGTERM). ``exchange.target`` starts and stops them together.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

# Longer than the engine needs for its final flush and snapshot; then systemd kills what is left.
STOP_TIMEOUT_S = 60
# The demo's bots are not part of a production exchange: left out unless asked for.
DEMO_ONLY = ("simulator",)
# Lines that need the embedded Redis (unless REDIS_URL names one of its own).
AFTER_REDIS = ("web", "engine", "worker", "beat", "simulator")


def procfile_lines(path: Path) -> list[tuple[str, str]]:
    lines = []
    for raw in path.read_text().splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            name, _, command = raw.partition(":")
            lines.append((name.strip(), command.strip()))
    return lines


def exec_start(command: str) -> str:
    """The line's command with its program resolved in this virtualenv."""
    argv = shlex.split(command)
    bin_dir = Path(sys.executable).parent
    if argv[0] == "python":
        argv[0] = sys.executable
    elif (bin_dir / argv[0]).exists():
        argv[0] = str(bin_dir / argv[0])
    return shlex.join(argv)


def unit(name: str, command: str, user: str, env_file: str, with_redis: bool) -> str:
    after = ["network-online.target", "postgresql.service"]
    if with_redis and name in AFTER_REDIS:
        after.append("exchange-redis.service")
    return f"""[Unit]
Description=Exchange {name} ({command})
PartOf=exchange.target
After={" ".join(after)}
Wants=network-online.target

[Service]
Type=exec
User={user}
WorkingDirectory={settings.BASE_DIR}
EnvironmentFile={env_file}
Environment=PYTHONUNBUFFERED=1
ExecStart={exec_start(command)}
Restart=always
RestartSec=2
KillMode=mixed
TimeoutStopSec={STOP_TIMEOUT_S}
StandardOutput=journal
StandardError=journal
SyslogIdentifier=exchange-{name}

[Install]
WantedBy=exchange.target
"""


def target(names: list[str]) -> str:
    services = " ".join(f"exchange-{name}.service" for name in names)
    return f"""[Unit]
Description=Exchange (every process of the Procfile)
Wants={services}

[Install]
WantedBy=multi-user.target
"""


class Command(BaseCommand):
    help = "Write a systemd service for each line of the Procfile, and exchange.target for all of them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", default=".", help="folder to write the units to (e.g. /etc/systemd/system)"
        )
        parser.add_argument("--user", default="exchange", help="the user the processes run as")
        parser.add_argument(
            "--env-file",
            default="/etc/exchange.env",
            help="DATABASE_URL, REDIS_URL, SECRET_KEY, ... one per line",
        )
        parser.add_argument(
            "--with-simulator", action="store_true", help="also the demo market's bots (simulate_market)"
        )
        parser.add_argument(
            "--without-redis",
            action="store_true",
            help="REDIS_URL names a Redis of your own: leave out the embedded one",
        )

    def handle(
        self,
        *args,
        output: str,
        user: str,
        env_file: str,
        without_redis: bool,
        with_simulator: bool,
        **options,
    ):
        lines = [
            (name, command)
            for name, command in procfile_lines(Path(settings.BASE_DIR) / "Procfile")
            if not (without_redis and name == "redis") and (with_simulator or name not in DEMO_ONLY)
        ]
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        for name, command in lines:
            (folder / f"exchange-{name}.service").write_text(
                unit(name, command, user, env_file, not without_redis)
            )
        (folder / "exchange.target").write_text(target([name for name, _ in lines]))
        self.stdout.write(
            f"wrote {len(lines)} services and exchange.target to {folder}; then: systemctl daemon-reload &&"
            " systemctl enable --now exchange.target"
        )
