"""The worker's periodic jobs: state kept elsewhere is reconciled, not trusted.

* notifications a lost Redis dropped or a dead worker left half-sent are queued again;
* recurring maintenance schedules' coming occurrences become windows, ahead of time;
* maintenance windows whose Alertmanager silence could not be made, or was never made
  (those occurrences), are synced;
* open incidents of servers under a window in force are marked "in maintenance since";
* the 24 h uptime figures are copied from Prometheus into Redis;
* open incidents are reconciled with the probes and Alertmanager, and the Watchdog's
  silence pages admins (portal/pipeline);
* dependants' outages whose pages were held are paged, or not if a parent was down;
* unacknowledged critical incidents escalate to the next tier;
* audit rows past the retention are deleted, about once a day (portal/audit/retention.py);
* the daily digest is planned once digest_hour has begun, and digests a lost Redis or a
  dead worker left unsent are queued again (portal/reports/digest_outbox.py);
* directory accounts are read again every LDAP_RECHECK_MINUTES, a bounded batch a run: a
  leaver is disabled and a changed group changes the role, sessions ended
  (portal/auth/directory_accounts.py);
* heartbeat jobs' states Redis lacks (a ping stored while it was away, a Redis restarted
  empty) are copied into it for the exporter, and each job's pings beyond the newest 100
  are deleted, about once every 10 minutes (portal/heartbeats/service.py).
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from portal.audit.retention import purge_overdue
from portal.auth import directory_accounts
from portal.auth.directory import DirectoryUnavailable
from portal.charts.uptime import refresh_uptime
from portal.extensions import db
from portal.heartbeats import service as heartbeats
from portal.incidents.dependants import release_held_pages
from portal.incidents.escalation import escalate
from portal.incidents.maintenance import sync_silence, unsynced_windows
from portal.incidents.maintenance_marks import mark_maintenance
from portal.incidents.recurring import plan_occurrences
from portal.notify.outbox import dispatch, sweep
from portal.pipeline.service import watch_pipeline
from portal.reports.digest_outbox import sweep_digests
from portal.settings.service import load_settings

log = logging.getLogger(__name__)

EVERY_S = 15


def requeue_notifications() -> None:
    requeued = sweep()
    if requeued:
        log.info("requeued %d notifications", requeued)


def plan_maintenance() -> None:
    planned = plan_occurrences()
    if planned:
        log.info("planned %d maintenance occurrences", planned)


def sync_silences() -> None:
    for window in unsynced_windows():
        sync_silence(window)


def page_held_outages() -> None:
    planned = release_held_pages()
    db.session.commit()
    dispatch(planned)


def escalate_unacknowledged() -> None:
    planned = escalate()
    db.session.commit()
    dispatch(planned)


def purge_audit_trail() -> None:
    days = load_settings().audit_retention_days
    purged = purge_overdue(days)
    db.session.commit()
    if purged:
        log.info("purged %d audit rows older than %d days", purged, days)


def send_daily_digests() -> None:
    queued = sweep_digests()
    if queued:
        log.info("queued %d daily digests", queued)


def recheck_directory_accounts() -> None:
    """The directory away changes nothing (directory.py logs it once a run)."""
    try:
        counts = directory_accounts.recheck(directory_accounts.due())
    except DirectoryUnavailable:
        return
    if counts["changed"] or counts["disabled"]:
        log.info("directory re-check: %(checked)d read, %(changed)d roles changed, "
                 "%(disabled)d disabled", counts)


_pruned_at = 0.0
PRUNE_EVERY_S = 600


def sync_heartbeats() -> None:
    global _pruned_at
    copied = heartbeats.sync_redis()
    if copied:
        log.info("copied %d heartbeat job states into Redis", copied)
    if time.monotonic() - _pruned_at >= PRUNE_EVERY_S:
        _pruned_at = time.monotonic()
        heartbeats.prune_pings()


PERIODIC = (sync_heartbeats, requeue_notifications, plan_maintenance, sync_silences, mark_maintenance,
            refresh_uptime, watch_pipeline, page_held_outages, escalate_unacknowledged,
            purge_audit_trail, send_daily_digests, recheck_directory_accounts)


def run_periodic(app: Flask) -> None:
    """Each job on its own: one failing (say, Prometheus away) skips no other."""
    for job in PERIODIC:
        with app.app_context():
            try:
                job()
            except Exception:
                db.session.rollback()
                log.exception("periodic job %s failed", job.__name__)
            finally:
                db.session.remove()
