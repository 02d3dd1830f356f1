"""Telling an account's owner that someone is failing to sign in as them.

Sign-in no longer locks an account (portal/auth/throttle.py), so the owner is the one who
can tell a forgotten password from an attack: they get one e-mail when the failures reach
the account's limit, whatever the incident-page opt-ins say, since it is about their
account, not an outage. It never holds the password tried; sign-in does not pass it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.notify.email import EmailSender
from portal.notify.messages import Outgoing, local_time, one_line
from portal.settings.service import load_settings

log = logging.getLogger(__name__)


def send_account_notice(username: str, address: str, failures: int, since: str) -> None:
    """The ``send_account_notice`` job: queued for any name typed, so it looks the account
    up and sends nothing for a name that is no active account. Raises on an SMTP failure,
    for dramatiq to retry."""
    config = current_app.config["SERVERMON"]
    user = db.session.scalar(select(User).where(func.lower(User.username) == username))
    if user is None or not user.is_active or not user.email:
        return
    if not config.smtp_host:
        log.info("failed sign-ins to %s not mailed: SMTP_HOST is not set", user.username)
        return
    when = local_time(datetime.fromisoformat(since), ZoneInfo(load_settings().timezone))
    where = one_line(address)
    body = (f"There have been {failures} failed sign-ins to your servermon account "
            f"{user.username} from {where} (the address of the last one) since {when}.\n\n"
            "If this was not you, tell an administrator. While the failures go on, each "
            "sign-in to your account waits a little longer, up to a minute; your password "
            "still works.\n")
    # No outbox row: the id only names the message, and make_msgid keeps it unique.
    EmailSender(config).send(Outgoing(0, "email", user.email,
                                      f"[servermon] {failures} failed sign-ins to your account",
                                      body))
