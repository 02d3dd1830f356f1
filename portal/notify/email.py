"""E-mail through SMTP (stdlib smtplib): plain text, one recipient per message."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from portal.config import Config
from portal.dbtypes import utcnow
from portal.notify.messages import one_line
from portal.notify.models import Notification

TIMEOUT_S = 10


class EmailSender:
    channel = "email"

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, notification: Notification) -> None:
        message = EmailMessage()
        message["From"] = self.config.smtp_from
        message["To"] = notification.recipient
        message["Subject"] = one_line(notification.subject)
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid(idstring=f"servermon-{notification.id}")
        message.set_content(notification.body)
        with smtplib.SMTP(self.config.smtp_host, self.config.smtp_port,
                          timeout=TIMEOUT_S) as smtp:
            if self.config.smtp_starttls:
                smtp.starttls()
            if self.config.smtp_user:
                smtp.login(self.config.smtp_user, self.config.smtp_password or "")
            smtp.send_message(message)
