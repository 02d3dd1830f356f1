"""POST /api/alertmanager/webhook: where alerts become incidents and notifications.

The always-firing Watchdog alert only marks the pipeline alive (portal/pipeline/watchdog.py).
Answers 200 once everything is committed, 400 for a payload Alertmanager would never
send (it does not retry 4xx), and 503 for a passing failure (database or lock), which
Alertmanager retries, and which the incident keys make safe to retry.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from portal.auth.guard import check_bearer, public
from portal.incidents.schemas import WebhookIn
from portal.incidents.service import receive_alerts
from portal.pipeline.watchdog import is_watchdog, saw_watchdog
from portal.schemas import parse_json

bp = Blueprint("alertmanager_api", __name__, url_prefix="/api/alertmanager")


@bp.post("/webhook")
@public("checked against ALERTMANAGER_WEBHOOK_TOKEN")
def webhook():
    check_bearer(current_app.config["SERVERMON"].alertmanager_webhook_token, "alertmanager webhook")
    payload = parse_json(WebhookIn)
    alerts = [alert for alert in payload.alerts if not is_watchdog(alert.labels)]
    if len(alerts) < len(payload.alerts):
        saw_watchdog()  # proof the pipeline works, not an incident
    changes = receive_alerts(payload.model_copy(update={"alerts": alerts})) if alerts else []
    return jsonify(
        received=len(payload.alerts),
        opened=sum(change.opened for change in changes),
        resolved=sum(change.resolved for change in changes),
    )
