"""The Watchdog: an always-firing alert proving Prometheus, Alertmanager and the route to
the portal work. Alertmanager repeats it every minute; when none has come for
``WATCHDOG_SILENT_AFTER_S``, admins are paged through the outbox directly, since waiting
for an alert about the alerting would wait for ever."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.exc import IntegrityError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify.messages import local_time
from portal.pipeline.heartbeats import beat, last_seen
from portal.pipeline.system import Raised, clear_incident, raise_incident
from portal.settings.service import load_settings

WATCHDOG = "Watchdog"  # alert_rules/servermon.rules.yml
SILENT = "AlertmanagerSilent"


def is_watchdog(labels: dict[str, str]) -> bool:
    return labels.get("alertname") == WATCHDOG


def saw_watchdog() -> None:
    """Two web workers may record the very first Watchdog at once: the loser's insert
    fails on the key, and it records the beat again over the winner's row."""
    for attempt in (1, 2):
        try:
            beat("watchdog", "Watchdog received from Alertmanager")
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise


def check_watchdog(into: Raised) -> None:
    """Raise or clear AlertmanagerSilent (the caller commits and dispatches)."""
    now = utcnow()
    row = last_seen("watchdog")
    if row is None:  # a new install: count the silence from the first look
        beat("watchdog", "no Watchdog received yet", at=now)
        return
    silent_after = timedelta(seconds=current_app.config["SERVERMON"].watchdog_silent_after_s)
    if now - row.seen_at <= silent_after:
        clear_incident(SILENT, into)
        return
    since = local_time(row.seen_at, ZoneInfo(load_settings().timezone))
    raise_incident(
        SILENT, f"No alerts from Alertmanager since {since}",
        f"The Watchdog alert, which Prometheus fires always and Alertmanager repeats every "
        f"minute, last reached the portal at {since}. Until it comes back, outages may go "
        "unpaged: check Prometheus, Alertmanager, and Alertmanager's webhook to the portal.",
        into)
