"""Audit rows for the reading tests, written by the service itself so that they chain.

``at`` dates a row by stopping the service's clock while it is recorded: a row edited
afterwards would no longer verify.
"""

from __future__ import annotations

from datetime import datetime
from unittest import mock

from portal.audit.models import AuditEvent
from portal.audit.service import Target, record
from portal.extensions import db


def add_event(action: str = "test.done", *, at: datetime | None = None,
              target: Target | None = None, **fields: object) -> AuditEvent:
    if at is None:
        event = record(action, target, **fields)
    else:
        with mock.patch("portal.audit.service.utcnow", return_value=at):
            event = record(action, target, **fields)
    db.session.commit()
    return event
