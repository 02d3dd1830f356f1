"""POST /api/alertmanager/webhook: where alerts become incidents and notifications.

Answers 200 once everything is committed, 400 for a payload Alertmanager would never
send (it does not retry 4xx), and 503 for a passing failure (database or lock), which
Alertmanager retries, and which the incident keys make safe to retry.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from portal.auth.guard import public
from portal.errors import APIError
from portal.extensions import db
from portal.grafana import queue_annotation
from portal.incidents.serialize import serialize_incident
from portal.incidents.service import Change, WebhookIn, apply_alert
from portal.notify import dispatch, plan_notifications
from portal.realtime.publish import publish
from portal.schemas import parse_json
from portal.servers import page_cache
from portal.servers.discovery import check_bearer

log = logging.getLogger(__name__)

bp = Blueprint("alertmanager_api", __name__, url_prefix="/api/alertmanager")


def _apply(payload: WebhookIn) -> tuple[list[Change], list]:
    changes = [apply_alert(alert) for alert in payload.alerts]
    planned = []
    for change in changes:
        if change.opened and not change.resolved:
            planned += plan_notifications(change.incident, "firing")
        if change.resolved:
            planned += plan_notifications(change.incident, "resolved")
    db.session.commit()
    return changes, planned


@bp.post("/webhook")
@public("checked against ALERTMANAGER_WEBHOOK_TOKEN")
def webhook():
    check_bearer(current_app.config["SERVERMON"].alertmanager_webhook_token)
    payload = parse_json(WebhookIn)
    for attempt in (1, 2):
        try:
            changes, planned = _apply(payload)
            break
        except IntegrityError:
            db.session.rollback()  # a concurrent delivery of the same alert won; read its rows
            if attempt == 2:
                raise APIError(503, "concurrent update; retry") from None
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.exception("webhook not stored")
            raise APIError(503, "database unavailable; retry") from exc
    page_cache.bump()
    dispatch(planned)
    for change in changes:
        if change.opened or change.resolved:
            publish("incident", serialize_incident(change.incident))
            queue_annotation(change.incident.id)
    return jsonify(
        received=len(payload.alerts),
        opened=sum(change.opened for change in changes),
        resolved=sum(change.resolved for change in changes),
    )
