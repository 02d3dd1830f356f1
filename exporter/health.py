"""The exporter's own metrics (``servermon_*``), in prometheus-client's default registry.

They sit beside the process collector's ``process_cpu_seconds_total`` and friends, which
the default registry brings for free.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # *_created series only double the exposition here

PROBES = Counter("servermon_probes", "Probes run, by kind and result", ["kind", "result"])
LATENESS = Histogram(
    "servermon_probe_lateness_seconds",
    "How long after its scheduled time a probe started",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TARGETS = Gauge("servermon_targets", "Targets loaded from service discovery")
SD_UP = Gauge("servermon_sd_up", "1 if the last service discovery fetch succeeded")
SD_FAILURES = Counter("servermon_sd_failures", "Failed service discovery fetches")
SD_LAST_SUCCESS = Gauge("servermon_sd_last_success_timestamp_seconds",
                        "When service discovery last succeeded, unix seconds")
REDIS_UP = Gauge("servermon_redis_up", "1 if the last publish to Redis succeeded")
EVENTS_DROPPED = Counter("servermon_events_dropped",
                         "State changes dropped because Redis was away too long")
EVENTS_QUEUED = Gauge("servermon_events_queued", "State changes waiting for Redis")
DEPLOYMENT_CONFLICT = Gauge("servermon_deployment_conflict",
                            "1 while Redis is held by another deployment than the portal's, "
                            "so nothing is published")
