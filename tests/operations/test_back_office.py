"""The admin as the exchange's back office: its index, the operator's dashboard and its one
action (requeueing a dead-letter batch)."""

from __future__ import annotations

import json
import re

import pytest

from contract import jsonfast
from contract.names import ACCEPTING_KEY, APPENDED_KEY, ENGINE_METRICS_KEY, STATUS_KEY
from engine.lease import LEASE_KEY
from history.outbox import outbox

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's text: tags gone, runs of spaces one, none before punctuation."""
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r" ([.,;:])", r"\1", spaced).strip()


def test_the_index_is_the_exchanges_sections_with_its_state_and_the_dashboard(admin_browser, redis_conn):
    page = admin_browser.get("/admin/")

    assert page.status_code == 200
    content = page.content.decode()
    order = [content.index(f'id="section-{s}"') for s in ("exchange", "money", "people", "trading-history")]
    assert order == sorted(order)
    assert "Ledger entries" in content and "Ledger entrys" not in content
    assert 'href="/admin/dashboard/"' in content
    assert "Engine: down: orders refused." in text(page)


def test_the_dashboard_is_for_staff_only(client, django_user_model):
    trader = django_user_model.objects.create_user("trader", password="pw-trader-1")
    client.force_login(trader)

    response = client.get("/admin/dashboard/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_dashboard_shows_the_engine_persistence_and_every_market(admin_browser, redis_conn, demo_markets):
    redis_conn.set(
        STATUS_KEY, json.dumps({"token": "3 host pid 9", "stream_id": "7-0", "seq": 50, "lag_ms": 0})
    )
    redis_conn.set(ACCEPTING_KEY, "3 host pid 9")
    redis_conn.set(LEASE_KEY, "3 host pid 9")
    redis_conn.set(ENGINE_METRICS_KEY, json.dumps({"applied": 10, "seq": 50, "snapshot_at_ms": None}))
    redis_conn.set(APPENDED_KEY, 12)
    redis_conn.set(outbox().written_seq_key, 45)
    redis_conn.set(
        "md:depth:SOL_USDC", jsonfast.dumps({"bids": [["99.5", "2"], ["100", "1"]], "asks": [["101", "3"]]})
    )

    page = admin_browser.get("/admin/dashboard/")

    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="5">' in page.content.decode()
    shown = text(page)
    assert "State up, taking commands" in shown
    assert "Lease holder 3 host pid 9" in shown
    assert "Applied up to stream id 7-0, seq 50" in shown
    assert "Backlog 2 command(s)" in shown
    assert "Lag 5 event(s) behind the engine" in shown
    assert "SOL_USDC Open 100 101 2 / 1 0 (0) 0" in shown
    assert "BTC_USDC Open – – 0 / 0" in shown


def test_a_dead_letter_requeued_goes_back_to_the_outbox_with_a_task(admin_browser, redis_conn, monkeypatch):
    from history import tasks

    queued = []
    monkeypatch.setattr(tasks.persist_events, "apply_async", lambda args: queued.append(args[0]))
    entry_id = outbox().put(redis_conn, b'{"v": 2, "fields": {}, "rows": {}}')
    outbox().bury(redis_conn, entry_id)
    [dead] = outbox().dead_letters(redis_conn)
    assert dead["id"] == entry_id and "Requeue" in admin_browser.get("/admin/dashboard/").content.decode()

    response = admin_browser.post("/admin/dashboard/requeue", {"dead_id": dead["dead_id"]})

    assert response.status_code == 302
    assert outbox().dead_letters(redis_conn) == []
    assert outbox().pending(redis_conn) == queued
    assert outbox().take(redis_conn, queued[0]) == b'{"v": 2, "fields": {}, "rows": {}}'
