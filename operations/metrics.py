"""``GET /metrics``: the exchange's figures in the Prometheus text format.

The web processes count their own (HTTP requests by route and status, their latency, the open
websockets); several web processes share them through prometheus-client's multiprocess mode
(``run_web`` points ``PROMETHEUS_MULTIPROC_DIR`` at a folder of its own). The engine's figures
and the persistence's come from Redis at each scrape (``operations.state``): the engine writes
them with its heartbeat, the outbox and the workers' progress are there already. So one scrape
of any web process shows the whole exchange.
"""

from __future__ import annotations

import os
import time

import redis
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from engine.metrics import APPLY_BUCKETS

from .state import exchange_state

HTTP_REQUESTS = Counter(
    "exchange_http_requests", "HTTP requests answered, by route and status", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "exchange_http_request_seconds",
    "Time to answer an HTTP request, by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WEBSOCKETS = Gauge(
    "exchange_websocket_connections", "Open websocket connections", multiprocess_mode="livesum"
)


class ExchangeCollector:
    """The engine's and the persistence's figures, read from Redis at each scrape."""

    def describe(self):
        return []  # registering it must not read Redis (at import)

    def collect(self):
        try:
            state = exchange_state()
        except redis.RedisError:
            yield GaugeMetricFamily("exchange_redis_up", "Whether Redis answered the scrape", value=0)
            return
        yield GaugeMetricFamily("exchange_redis_up", "Whether Redis answered the scrape", value=1)
        yield GaugeMetricFamily(
            "exchange_engine_up", "Whether the engine's heartbeat is fresh", value=int(state.engine_up)
        )
        yield GaugeMetricFamily(
            "exchange_engine_accepting",
            "Whether the engine takes commands (up and not too far behind)",
            value=int(state.accepting),
        )
        yield GaugeMetricFamily(
            "exchange_persistence_dead_letters",
            "Persistence batches that could not be written, waiting for an operator",
            value=state.dead_letters,
        )
        yield GaugeMetricFamily(
            "exchange_persistence_outbox_batches", "Persistence batches not written yet", value=state.outbox
        )
        if state.reconciled is not None:
            yield GaugeMetricFamily(
                "exchange_reconcile_differences",
                "Differences the last reconciliation found between the engine and the database",
                value=state.reconciled["differences"],
            )
            yield GaugeMetricFamily(
                "exchange_reconcile_age_seconds",
                "Seconds since the last reconciliation",
                value=state.reconciled_age_s,
            )
        metrics = state.metrics
        if metrics is None:
            return  # the engine never ran on this Redis
        yield GaugeMetricFamily(
            "exchange_engine_backlog", "Commands appended and not applied yet", value=state.backlog
        )
        yield GaugeMetricFamily(
            "exchange_persistence_lag_events",
            "The engine's sequence number minus the newest one persisted",
            value=state.persistence_lag,
        )
        if state.snapshot_age_s is not None:
            yield GaugeMetricFamily(
                "exchange_engine_snapshot_age_seconds",
                "Seconds since the engine's newest snapshot",
                value=state.snapshot_age_s,
            )
        commands = CounterMetricFamily(
            "exchange_engine_commands",
            "Commands the engine applied, by type and result",
            labels=["command", "result"],
        )
        for command, result, count in metrics["commands"]:
            commands.add_metric([command, result], count)
        yield commands
        cumulative, buckets = 0, []
        for bound, count in zip((*APPLY_BUCKETS, float("inf")), metrics["apply_buckets"], strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(
            "exchange_engine_apply_seconds",
            "Time the engine took to apply one command",
            buckets=buckets,
            sum_value=metrics["apply_seconds"],
        )


_exchange = ExchangeCollector()
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    REGISTRY.register(_exchange)


def metrics_view(request) -> HttpResponse:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_exchange)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Counts and times every HTTP request by the route it matched (the URL pattern, not the
    path, so that the series stay few)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = f"/{match.route}" if match is not None else "unmatched"
        record_request(route, request.method, response.status_code, time.perf_counter() - started)
        return response


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count and time one answered request (the middleware's, and the order entry path's, which
    answers its requests without Django's middleware: ``accounts.api.fast``)."""
    HTTP_SECONDS.labels(route).observe(seconds)
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
