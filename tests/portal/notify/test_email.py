"""E-mail through SMTP: plain text to the relay (aiosmtpd stands in for it)."""

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

import portal.models  # noqa: F401 - every mapper, so a bare Notification can be built
from portal.notify.email import EmailSender
from portal.notify.messages import Outgoing
from portal.notify.models import Notification
from tests.conftest import make_config
from tests.support.binaries import free_port


def notification(**fields):
    values = {"id": 7, "recipient": "duty@bank.example", "subject": "[servermon] DOWN: x",
              "body": "x is down.\n"}
    return Notification(**{**values, **fields})


def sender(port, **settings):
    return EmailSender(make_config("sqlite://", SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                                   SMTP_FROM="servermon@bank.example", **settings))


def test_it_sends_plain_text_from_the_configured_address(smtp):
    sender(smtp[0]).send(notification())
    [mail] = smtp[1]
    assert (mail["From"], mail["To"]) == ("servermon@bank.example", "duty@bank.example")
    assert mail.get_content_type() == "text/plain" and mail.get_payload() == "x is down.\r\n"
    assert mail["Message-ID"].endswith(".servermon-7@bank.example>")


def test_a_message_with_html_has_it_as_an_alternative_to_the_text(smtp):
    sender(smtp[0]).send(Outgoing(3, "email", "duty@bank.example", "digest", "plain\n",
                                  html="<p>rich</p>"))
    [mail] = smtp[1]
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.get_payload()] == ["text/plain", "text/html"]
    assert mail.get_payload()[1].get_payload(decode=True).decode().strip() == "<p>rich</p>"


def test_a_line_break_in_the_subject_cannot_add_a_header(smtp):
    sender(smtp[0]).send(notification(subject="down\r\nBcc: attacker@evil.example"))
    [mail] = smtp[1]
    assert mail["Bcc"] is None and mail["Subject"] == "down Bcc: attacker@evil.example"


class _Relay:
    """A relay that wants a login, to see the credentials arrive."""

    def __init__(self):
        self.logins, self.messages = [], []

    def __call__(self, _server, _session, _envelope, mechanism, data):
        self.logins.append((mechanism, data.login, data.password))
        return AuthResult(success=True)

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_it_logs_in_when_a_user_is_configured():
    relay = _Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port(), authenticator=relay,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        sender(controller.port, SMTP_USER="servermon", SMTP_PASSWORD="relay-pass").send(
            notification())
    finally:
        controller.stop()
    assert [(login, password) for _m, login, password in relay.logins] == [
        (b"servermon", b"relay-pass")]
    assert len(relay.messages) == 1


def test_an_unreachable_relay_raises_for_the_outbox_to_retry():
    with pytest.raises(OSError):
        sender(free_port()).send(notification())


def test_a_worker_without_smtp_host_says_so():
    with pytest.raises(RuntimeError, match="SMTP_HOST"):
        EmailSender(make_config("sqlite://")).send(notification())
