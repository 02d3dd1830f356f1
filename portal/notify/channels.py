"""Whether each channel can work, said where people would otherwise assume it does: a
channel switched on in the settings whose configuration is missing sends nothing, and the
Settings, Admin and Profile pages say so; the Admin page also shows each channel's last
success and last failure, from the outbox."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.notify.models import Notification
from portal.settings.service import SettingsData

CHANNELS = {"email": ("E-mail", "SMTP_HOST", "smtp_host", "no e-mail will be sent"),
            "sms": ("SMS", "TWILIO_ACCOUNT_SID", "twilio_account_sid", "no SMS will be sent")}


def unconfigured(settings: SettingsData) -> dict[str, str]:
    """Channel -> the warning, for channels switched on but not configured."""
    config = current_app.config["SERVERMON"]
    warnings = {}
    for channel, (label, variable, attribute, consequence) in CHANNELS.items():
        if getattr(settings, f"notify_{channel}") and not getattr(config, attribute):
            warnings[channel] = f"{label} is on, but {variable} is not set: {consequence}."
    return warnings


def warnings_for(user: User, settings: SettingsData) -> list[str]:
    """What the Profile page warns this person of: their own choices that cannot work."""
    found = unconfigured(settings)
    warnings = [found[channel] for channel in CHANNELS
                if getattr(user, f"notify_{channel}") and channel in found]
    if user.notify_sms and not user.phone:
        warnings.append("SMS is chosen, but your profile has no phone number: no SMS will "
                        "reach you.")
    for channel, (label, *_rest) in CHANNELS.items():
        if getattr(user, f"notify_{channel}") and not getattr(settings, f"notify_{channel}"):
            warnings.append(f"{label} notifications are switched off in the settings: none "
                            "will be sent.")
    return warnings


def last_outcomes() -> dict[str, dict]:
    """Per channel: when a message last went, and when one last failed and why."""
    sent = dict(db.session.execute(select(Notification.channel, func.max(Notification.sent_at))
                                   .where(Notification.status == "sent")
                                   .group_by(Notification.channel)).all())
    outcomes = {}
    for channel, (label, *_rest) in CHANNELS.items():
        failure = db.session.execute(
            select(Notification.last_failed_at, Notification.last_error)
            .where(Notification.channel == channel, Notification.last_failed_at.is_not(None))
            .order_by(Notification.last_failed_at.desc()).limit(1)).first()
        outcomes[channel] = {"label": label, "last_sent_at": sent.get(channel),
                             "last_failed_at": failure.last_failed_at if failure else None,
                             "last_error": failure.last_error if failure else None}
    return outcomes
