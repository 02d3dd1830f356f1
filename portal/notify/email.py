"""E-mail through SMTP (stdlib smtplib): plain text (with an HTML alternative when the
message has one), one recipient per message."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from portal.config import Config
from portal.dbtypes import utcnow
from portal.notify.messages import Outgoing, one_line

TIMEOUT_S = 10


class EmailSender:
    """Sends one message (an outbox row, or a digest of several); raises on any failure
    so the outbox can retry it."""

    channel = "email"

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, notification: Outgoing) -> None:
        if not self.config.smtp_host:  # planned by a web process that had it, worker has not
            raise RuntimeError("SMTP_HOST is not set for the worker")
        message = EmailMessage()
        message["From"] = self.config.smtp_from
        message["To"] = notification.recipient
        message["Subject"] = one_line(notification.subject)
        message["Date"] = format_datetime(utcnow())
        _local, at, domain = parseaddr(self.config.smtp_from)[1].rpartition("@")
        message["Message-ID"] = make_msgid(idstring=f"servermon-{notification.id}",
                                           domain=domain if at else None)
        message.set_content(notification.body)
        html = getattr(notification, "html", None)  # an outbox row has none
        if html:
            message.add_alternative(html, subtype="html")
        with smtplib.SMTP(self.config.smtp_host, self.config.smtp_port,
                          timeout=TIMEOUT_S) as smtp:
            if self.config.smtp_starttls:
                smtp.starttls()
            if self.config.smtp_user:
                smtp.login(self.config.smtp_user, self.config.smtp_password or "")
            smtp.send_message(message)
