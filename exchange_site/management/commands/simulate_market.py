"""``python manage.py simulate_market [SYMBOL ...]``: a live demo market.

Bots of their own (``sim-maker-1``, ``sim-maker-2``, ``sim-taker``) quote around a mid price
that follows a random walk and take liquidity now and then, through the signed REST API of the
running exchange (``--url``), within its rate limits. Without symbols: every market. Runs until
stopped (Ctrl-C, SIGTERM), waiting out an engine that is down or starting. See ``simulator/``.
"""

from __future__ import annotations

import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

DEFAULT_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = "Run market-making and taking bots on the given markets (default: all) through the REST API."

    def add_arguments(self, parser):
        parser.add_argument("symbols", nargs="*", metavar="SYMBOL", help="markets to simulate (default: all)")
        parser.add_argument(
            "--url",
            default=os.environ.get("SIMULATOR_API_URL") or DEFAULT_URL,
            help=f"the exchange's base URL (SIMULATOR_API_URL, else {DEFAULT_URL})",
        )
        for flag, default, help_text in (
            ("--requote-every", 2.0, "seconds between requotes"),
            ("--trade-every", 4.0, "mean seconds between taker orders per market"),
            ("--volatility", 0.0003, "of the mid, per square root of a second"),
            ("--rate", 8.0, "requests per second per bot at most (server: 120)"),
        ):
            parser.add_argument(flag, type=float, default=default, help=help_text)
        parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable runs)")

    def handle(self, *args, symbols, url, requote_every, trade_every, volatility, rate, seed, **options):
        from simulator.runner import Simulator

        if requote_every <= 0 or trade_every <= 0 or rate <= 0 or volatility < 0:
            raise CommandError("--requote-every, --trade-every and --rate must be positive")
        stop = threading.Event()

        def on_signal(signum, frame):
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, on_signal)
        simulator = Simulator(
            url,
            [s.upper() for s in symbols],
            stop=stop,
            requote_every=requote_every,
            trade_every=trade_every,
            volatility=volatility,
            seed=seed,
            requests_per_second=rate,
        )
        try:
            simulator.run()
        except ValueError as exc:  # a bad --url
            raise CommandError(str(exc)) from exc
