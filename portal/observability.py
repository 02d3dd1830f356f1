"""The portal's own metrics: request rate, errors and latency per endpoint, and the SQL
statements each endpoint costs (so a cached page can be shown to cost none).

Under gunicorn with several worker processes, prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``) merges what every worker counted.
"""

from __future__ import annotations

import os
import threading
import time

from flask import Flask, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REQUESTS = Counter(
    "servermon_portal_http_requests_total", "HTTP requests served", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "servermon_portal_http_request_duration_seconds",
    "Time to serve a request",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

DB_QUERIES = Counter(
    "servermon_portal_db_queries_total",
    "SQL statements sent to the database, per endpoint (background page refreshes apart)",
    ["endpoint"],
)
REFRESH_THREAD = "servermon-page-refresh"  # portal.servers.page_cache.in_background's threads


def _count_query(*_args: object) -> None:
    if threading.current_thread().name == REFRESH_THREAD:
        endpoint = "background refresh"
    elif has_request_context():
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    else:
        endpoint = "outside a request"
    DB_QUERIES.labels(endpoint).inc()


def count_queries() -> None:
    """Count every engine's statements (once per process, however many apps it makes)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "before_cursor_execute", _count_query):
        event.listen(Engine, "before_cursor_execute", _count_query)


def init_metrics(app: Flask) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    app.extensions["metrics_registry"] = registry
    count_queries()

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _record(response):
        started = g.pop("request_started", None)
        if started is not None:
            endpoint = request.url_rule.rule if request.url_rule else "unmatched"
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response


def exposition(app: Flask, *more: bytes) -> bytes:
    """The request metrics, then ``more`` (other families, already in the text format)."""
    return generate_latest(app.extensions["metrics_registry"]) + b"".join(more)
