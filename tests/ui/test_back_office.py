"""The operator's dashboard in a real browser: it shows the engine's state and keeps itself up to
date without anyone reloading it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.services


def log_in_to_the_back_office(page, django_user_model, then: str = "/admin/") -> None:
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    page.goto(f"/admin/login/?next={then}")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root-123")
    page.click("input[type=submit]")


def test_the_dashboard_follows_the_engine_coming_up_on_its_own(
    page, web_server, engine_runner, django_user_model
):
    log_in_to_the_back_office(page, django_user_model, then="/admin/dashboard/")
    expect(page.locator("#engine-state")).to_have_text("down: orders refused")
    expect(page.locator("#markets tbody tr")).to_have_count(3)

    engine_runner.start()  # no reload by the test: the page refreshes itself

    expect(page.locator("#engine-state")).to_have_text("up, taking commands", timeout=15_000)
    expect(page.locator("#lease-holder")).to_have_text(re.compile(rf" pid {engine_runner.proc.pid}$"))
    expect(page.locator("#markets tr[data-symbol=SOL_USDC] td").first).to_have_text("Open")


def test_the_back_office_index_leads_to_the_dashboard(page, web_server, django_user_model):
    log_in_to_the_back_office(page, django_user_model)

    expect(page.locator("#exchange-state")).to_contain_text("Engine: down: orders refused.")
    page.click("#dashboard-link")

    expect(page).to_have_title("Exchange dashboard | Exchange back office")
