"""What Alertmanager says is firing now (``GET /api/v2/alerts``), for the reconciler."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from flask import current_app

TIMEOUT_S = 5


class AlertmanagerUnavailable(Exception):
    """Alertmanager could not be asked; callers must not read silence as "nothing fires"."""


@dataclass(frozen=True)
class ActiveAlerts:
    """Active alerts (silenced and inhibited included: they still describe an outage)."""

    by_server: frozenset[tuple[str, str]]  # (server_id label, alertname)
    fingerprints: frozenset[str]

    def firing(self, server_id: int | None, alertname: str, fingerprint: str) -> bool:
        if server_id is not None:
            return (str(server_id), alertname) in self.by_server
        return fingerprint in self.fingerprints


def active_alerts() -> ActiveAlerts:
    base = current_app.config["SERVERMON"].alertmanager_url
    try:
        response = requests.get(f"{base}/api/v2/alerts", timeout=TIMEOUT_S,
                                params={"active": "true", "silenced": "true",
                                        "inhibited": "true", "unprocessed": "true"})
        response.raise_for_status()
        alerts = response.json()
        if not isinstance(alerts, list):
            raise ValueError("not a list of alerts")
    except (requests.RequestException, ValueError) as exc:
        raise AlertmanagerUnavailable(str(exc)) from exc
    by_server, fingerprints = set(), set()
    for alert in alerts:
        labels = alert.get("labels") or {}
        if (alert.get("status") or {}).get("state", "active") not in ("active", "suppressed",
                                                                        "unprocessed"):
            continue
        by_server.add((labels.get("server_id", ""), labels.get("alertname", "")))
        if alert.get("fingerprint"):
            fingerprints.add(alert["fingerprint"])
    return ActiveAlerts(frozenset(by_server), frozenset(fingerprints))
