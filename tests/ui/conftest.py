"""Fixtures of the browser tests: the real stack (engine subprocess from tests/conftest.py, a real
``manage.py run_web`` server on a free port, optionally the persistence worker or the market simulator)
and a real headless Chromium driven by Playwright.

The browser is Debian's ``/usr/bin/chromium`` (``apt-get install -y chromium``), never one that
``playwright install`` downloads. Without it every test here is skipped with that reason. The
candle chart is lightweight-charts from npm (``npm ci``, run by ``make test``): the tests of the
chart are skipped, saying so, when it is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, stop_process, subprocess_env

CHROMIUM = os.environ.get("UI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's default of 30 s hides a hang for long; the stack answers in well under a second
# even on a loaded machine, and the ticker is pushed at most once a second.
UI_TIMEOUT_MS = 15_000


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the package (starting one takes seconds on a busy machine)."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's with `apt-get install -y chromium`")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (requirements-test.txt)")

    # Playwright's sync API runs its asyncio loop in a greenlet of this thread, so while the
    # browser is up Django sees a running loop and would refuse the ORM calls of the tests and
    # of the database fixtures. Nothing here runs async code against the ORM: allow it for as
    # long as the browser lives, and no longer.
    expect.set_options(timeout=UI_TIMEOUT_MS)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, web_server):
    """A fresh browser context (no cookies) on a desktop-sized window. Any uncaught JavaScript
    error on the page fails the test."""
    context = browser.new_context(base_url=web_server.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}\nweb log:\n{web_server.log()}"


@pytest.fixture
def chart_library() -> None:
    """The tests that need lightweight-charts (installed by ``npm ci``)."""
    from markets.ui_views import chart_library as installed

    if installed() is None:
        pytest.skip("lightweight-charts is not installed: run `npm ci` (make test does)")


@pytest.fixture
def api_client(web_server) -> Iterator:
    """``api_client(user)``: a client of the real signed REST API with a new key of ``user``, as
    an outside trader uses the exchange (the simulator's client: it signs every request)."""
    from accounts.services import create_api_key
    from simulator.client import Client, RequestBudget

    clients = []

    def make(user):
        _, secret = create_api_key(user, "ui-test")
        client = Client(web_server.url, secret, RequestBudget(rate=100, burst=100), name=user.username)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@dataclass
class SimulatorProcess:
    """``manage.py simulate_market`` against the test stack, until ``stop()``."""

    log_path: Path
    proc: subprocess.Popen | None = None

    def start(self, url: str, *args: str) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "simulate_market", "--url", url, *args],
                cwd=ROOT, env=subprocess_env(), stdout=log, stderr=log,
            )  # fmt: skip

    def stop(self) -> int | None:
        stop_process(self.proc)
        return None if self.proc is None else self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@pytest.fixture
def simulator(web_server, engine_process, tmp_path) -> Iterator[SimulatorProcess]:
    sim = SimulatorProcess(tmp_path / "simulator.log")
    yield sim
    sim.stop()


PRIVATE_REST = re.compile(r"/(api/v1/(capital|orders?)|wapi/v1/)")


def private_requests(page) -> list[str]:
    """The URLs of the private REST requests the page makes from now on (a live list)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if PRIVATE_REST.search(r.url) else None)
    return seen


def wait_live(page) -> None:
    """The websocket is open and subscribed (the page then reloads its snapshots)."""
    from playwright.sync_api import expect

    expect(page.locator("#ws-status")).to_have_attribute("data-state", "live")


def wait_account(page) -> None:
    """The account's REST snapshot is shown (balances filled in)."""
    from playwright.sync_api import expect

    first_row = page.locator("#orders-body tr").first
    expect(first_row).not_to_have_text("Loading…")


def log_in(page, username: str, password: str) -> None:
    """Through the real login form; it lands on the trading page."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url("**/")
