"""Who hears about an incident, and on which channel.

Critical incidents page by e-mail and SMS: the roles chosen in settings (people who
opted in per channel) plus the server's own contacts, and the notification endpoints
(webhooks, chat channels) of that tier; the monitoring's own failures, the
admins (who opted in). Warnings, and anything during
maintenance, only reach the portal's notification centre.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from portal.incidents.models import Incident
from portal.notify.endpoints import address
from portal.notify.models import NotificationEndpoint, ServerContact
from portal.rbac import has_permission
from portal.settings.service import SettingsData


@dataclass(frozen=True)
class Recipient:
    channel: str
    address: str
    user_id: int | None = None


def enabled_channels(settings: SettingsData) -> set[str]:
    config = current_app.config["SERVERMON"]
    channels = set()
    if settings.notify_email and config.smtp_host:
        channels.add("email")
    if settings.notify_sms and config.twilio_account_sid:
        channels.add("sms")
    return channels


def paged(incident: Incident, settings: SettingsData, tier: int = 1) -> list[Recipient]:
    """Tier 1: the paged roles and the server's tier-1 contacts. Tiers 2 and 3 (an
    escalation): the roles the settings give that tier and the contacts of that tier."""
    if incident.severity != "critical" or incident.in_maintenance:
        return []
    channels = enabled_channels(settings)
    found: dict[tuple[str, str], Recipient] = {}

    def add(channel: str, address: str | None, user_id: int | None) -> None:
        if channel in channels and address:
            found.setdefault((channel, address.lower()), Recipient(channel, address, user_id))

    # The monitoring's own failures (portal/pipeline/system.py) page the admins who run it.
    if tier == 2:
        roles = settings.escalate_tier2_roles
    elif tier == 3:
        roles = settings.escalate_tier3_roles
    elif (incident.labels or {}).get("audience") == "admins":
        roles = ["admin"]
    else:
        roles = settings.notify_roles
    users = db.session.scalars(select(User).where(
        User.is_active.is_(True), User.role.in_(roles)).order_by(User.id))
    for user in users:
        if user.notify_email:
            add("email", user.email, user.id)
        if user.notify_sms:
            add("sms", user.phone, user.id)
    if incident.server_id is not None:
        contacts = db.session.scalars(select(ServerContact).where(
            ServerContact.server_id == incident.server_id, ServerContact.tier == tier)
            .order_by(ServerContact.id))
        for contact in contacts:
            add("email", contact.email, None)
            add("sms", contact.phone, None)
    if (incident.labels or {}).get("audience") != "admins":
        for endpoint in db.session.scalars(select(NotificationEndpoint).where(
                NotificationEndpoint.enabled.is_(True), NotificationEndpoint.tier == tier)
                .order_by(NotificationEndpoint.id)):
            found.setdefault((endpoint.kind, address(endpoint)),
                             Recipient(endpoint.kind, address(endpoint)))
    return list(found.values())


def in_app(_incident: Incident) -> list[User]:
    """Everyone who can see alerts gets the bell, whatever the severity."""
    users = db.session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id))
    return [user for user in users if has_permission(user.role, "alerts.view")]


def admins() -> list[User]:
    """Active admins: told in the bell when a page fails for good."""
    return list(db.session.scalars(select(User).where(
        User.is_active.is_(True), User.role == "admin").order_by(User.id)))
