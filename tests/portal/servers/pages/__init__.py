"""Server page tests, and what several of them post."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.servers.models import Server


def server_form(**overrides):
    """A complete add-server form, as a browser posts it (checked boxes only)."""
    data = {
        "name": "core-banking", "kind": "http", "target": "https://core.bank.example/health",
        "interval_s": "30", "timeout_s": "10", "enabled": "on", "down_after": "2",
        "environment": "production", "group": "core", "description": "Main ledger",
        "labels": "team=payments\nsite=kampala", "owner_id": "",
        "http_method": "GET", "http_accepted_statuses": "200-299", "http_keyword": "",
        "http_keyword_mode": "contains", "http_max_latency_ms": "", "http_follow_redirects": "on",
        "tls_verify": "on", "dns_record_type": "A", "dns_expected": "", "dns_resolver": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def server_count() -> int:
    return db.session.scalar(select(func.count(Server.id)))
