"""Every table, imported in one place so Alembic and create_app see the whole schema."""

from portal.audit.models import AuditEvent, AuditHead
from portal.auth.models import ApiToken, User
from portal.heartbeats.models import HeartbeatPing, HeartbeatState
from portal.incidents.models import Incident, MaintenanceSchedule, MaintenanceWindow
from portal.notify.models import Notification, ServerContact, UserNotification
from portal.pipeline.models import Heartbeat
from portal.reports.models import DailyDigest
from portal.servers.models import Server, ServerEvent, ServerLabel, ServerStatus
from portal.settings.models import Setting
from portal.status_pages.models import StatusComponent, StatusPage

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "DailyDigest",
    "Heartbeat",
    "HeartbeatPing",
    "HeartbeatState",
    "Incident",
    "MaintenanceSchedule",
    "MaintenanceWindow",
    "Notification",
    "Server",
    "ServerContact",
    "ServerEvent",
    "ServerLabel",
    "ServerStatus",
    "Setting",
    "StatusComponent",
    "StatusPage",
    "User",
    "UserNotification",
]
