"""One pass of the pipeline's self-checks, as the worker's periodic loop runs it."""

from __future__ import annotations

from portal.extensions import db
from portal.grafana import queue_annotation
from portal.incidents.serialize import serialize_incident
from portal.notify import dispatch
from portal.pipeline.heartbeats import beat
from portal.pipeline.reconcile import Pass, reconcile
from portal.pipeline.watchdog import check_watchdog
from portal.realtime.publish import publish
from portal.servers import page_cache


def watch_pipeline() -> Pass:
    """The worker is alive; reconcile; check the Watchdog; then page and push what changed."""
    beat("worker", "periodic jobs running")
    db.session.commit()  # alive, whatever the passes below meet
    result = reconcile()
    check_watchdog(result.raised)
    db.session.commit()
    if result.changed:
        page_cache.bump()
        dispatch(result.planned)
        for incident in result.changed:
            publish("incident", serialize_incident(incident))
            queue_annotation(incident.id)
    return result
