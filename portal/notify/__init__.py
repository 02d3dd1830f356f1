"""Notifications: e-mail and SMS through an outbox and a worker, and the in-app bell."""

from portal.notify.outbox import dispatch
from portal.notify.planning import plan_notifications

__all__ = ["dispatch", "plan_notifications"]
