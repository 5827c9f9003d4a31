"""``GET /metrics``: the web's own figures, and the engine's and persistence's read from Redis,
in the Prometheus text format."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from contract.names import APPENDED_KEY, ENGINE_METRICS_KEY, STATUS_KEY
from engine.client import submit
from engine.core.messages import CancelAll, Deposit
from engine.metrics import APPLY_BUCKETS
from history.outbox import outbox
from history.services import RECONCILE_RESULT_KEY
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample: (name, sorted labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_requests_are_counted_by_route_and_status(client):
    before = scrape(client).get(
        ("exchange_http_requests_total", (("method", "GET"), ("route", "/livez"), ("status", "200"))), 0
    )
    client.get("/livez")
    client.get("/livez")

    after = scrape(client)

    assert (
        after[("exchange_http_requests_total", (("method", "GET"), ("route", "/livez"), ("status", "200")))]
        == before + 2
    )
    assert after[("exchange_http_request_seconds_count", (("route", "/livez"),))] >= 2


def test_the_engines_figures_come_from_its_heartbeat(client, redis_conn):
    redis_conn.set(STATUS_KEY, json.dumps({"seq": 120, "stream_id": "5-0", "lag_ms": 0}))
    buckets = [0] * (len(APPLY_BUCKETS) + 1)
    buckets[1], buckets[-1] = 7, 1
    metrics = {
        "commands": [["PlaceOrder", "ok", 6], ["PlaceOrder", "rejected", 2]],
        "apply_buckets": buckets,
        "apply_seconds": 0.5,
        "applied": 40,
        "snapshot_at_ms": None,
        "seq": 120,
    }
    redis_conn.set(ENGINE_METRICS_KEY, json.dumps(metrics))
    redis_conn.set(APPENDED_KEY, 43)
    redis_conn.set(outbox().written_seq_key, 100)
    redis_conn.xadd(outbox().name + ".dead", {"id": "1-0", "n": 10})
    redis_conn.set(
        RECONCILE_RESULT_KEY,
        json.dumps({"at_ms": 0, "compared": True, "seq": 90, "differences": 2, "summary": "x"}),
    )

    samples = scrape(client)

    assert samples[("exchange_engine_up", ())] == 1
    assert samples[("exchange_engine_accepting", ())] == 0
    assert samples[("exchange_engine_commands_total", (("command", "PlaceOrder"), ("result", "ok")))] == 6
    assert (
        samples[("exchange_engine_commands_total", (("command", "PlaceOrder"), ("result", "rejected")))] == 2
    )
    assert samples[("exchange_engine_backlog", ())] == 3
    assert samples[("exchange_persistence_lag_events", ())] == 20
    assert samples[("exchange_persistence_dead_letters", ())] == 1
    assert samples[("exchange_reconcile_differences", ())] == 2
    assert samples[("exchange_engine_apply_seconds_bucket", (("le", "1e-05"),))] == 0
    assert samples[("exchange_engine_apply_seconds_bucket", (("le", "2.5e-05"),))] == 7
    assert samples[("exchange_engine_apply_seconds_bucket", (("le", "+Inf"),))] == 8
    assert samples[("exchange_engine_apply_seconds_count", ())] == 8
    assert samples[("exchange_engine_apply_seconds_sum", ())] == 0.5


def test_a_running_engine_counts_its_commands_and_has_no_backlog(client, fund, django_user_model):
    user = django_user_model.objects.create(username="counted")
    fund(user, "USDC", "5")
    refused = submit(Deposit(ts=0, account=user.pk, asset="NOPE", amount=1, tx_id="refused"))
    assert refused[0]["type"] == "Rejected"
    assert submit(CancelAll(ts=0, account=user.pk, market="SOL_USDC")) == []  # nothing to cancel

    def counted():
        samples = scrape(client)
        ok = samples.get(("exchange_engine_commands_total", (("command", "Deposit"), ("result", "ok"))))
        return samples if ok == 1 else None

    samples = wait_until(counted, 10, "the engine's next heartbeat")
    assert samples[("exchange_engine_commands_total", (("command", "Deposit"), ("result", "rejected")))] == 1
    assert samples[("exchange_engine_commands_total", (("command", "CancelAll"), ("result", "ok")))] == 1
    assert samples[("exchange_engine_backlog", ())] == 0
    assert samples[("exchange_engine_up", ())] == samples[("exchange_engine_accepting", ())] == 1


def test_every_web_process_counts_into_one_scrape(start_web_server, tmp_path):
    """Two uvicorn workers: whichever answers the scrape reports what both served, and the open
    websockets of both."""
    import httpx
    from websockets.sync.client import connect

    (tmp_path / "metrics").mkdir()
    server = start_web_server(workers=2, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    with httpx.Client(base_url=server.url) as http:
        for _ in range(20):
            assert http.get("/livez").status_code == 200
        with connect(server.ws_url), connect(server.ws_url):
            during = http.get("/metrics").text

        def scrape_with_both_closed() -> str:
            text = http.get("/metrics").text
            return text if "exchange_websocket_connections 0.0" in text else ""

        # A closed websocket is counted out when its server has handled the close, a moment later.
        after = wait_until(scrape_with_both_closed, 10, "the scrape to count the closed websockets out")

    assert 'exchange_http_requests_total{method="GET",route="/livez",status="200"} 20.0' in during
    assert "exchange_websocket_connections 2.0" in during
    assert "exchange_websocket_connections 0.0" in after
