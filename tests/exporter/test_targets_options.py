"""blackbox's module options on a Target: typed from SD's labels, secrets opened with the
exporter's key, and a target that cannot be opened skipped with a line naming the setting."""

import json
import logging

import pytest

from exporter import targets
from exporter.config import ConfigError, ExporterConfig
from exporter.discovery import GroupParser
from exporter.targets import Target
from wire import META_PREFIX
from wire.secrets import Keyring, seal

KEY = "exporter-probe-secrets-key-" + "k" * 20
KEYRING = Keyring.from_text(KEY)
API = "https://api.bank.test/"  # _group's target: what the portal seals these values for


@pytest.fixture
def keyring():
    targets.install_keyring(KEYRING)
    yield KEYRING
    targets.install_keyring(None)


def _group(kind="http", address="https://api.bank.test/", **meta):
    return {"targets": [address], "labels": {
        "server_id": "9", "server": "payments-api", "kind": kind,
        **{f"{META_PREFIX}{name}": value for name, value in meta.items()}}}


def test_sealed_secrets_from_sd_are_opened(keyring):
    target = Target.from_group(_group(
        http_headers=seal(keyring, json.dumps({"X-Api-Key": "k-123", "Accept": "text/plain"}), bound_to=API),
        http_basic_auth_username="probe", http_basic_auth_password=seal(keyring, "pa:ss", bound_to=API),
        http_body='{"ping": 1}', ip_protocol="ip6"))
    assert target.http_headers == (("X-Api-Key", "k-123"), ("Accept", "text/plain"))
    assert target.http_basic_auth == ("probe", "pa:ss")
    assert (target.http_body, target.ip_protocol) == ('{"ping": 1}', "ip6")
    assert "k-123" not in repr(target) and "pa:ss" not in repr(target)


def test_a_value_sealed_for_another_target_does_not_open():
    """SD's sealed token handed to /probe with an address of the caller's choosing: the
    exporter must not open it, or it would send the token there."""
    with pytest.raises(ValueError, match="http_bearer_token of payments-api was sealed for "
                                         "another target"):
        targets.install_keyring(KEYRING)
        try:
            Target.from_settings(0, "payments-api", "http", "https://attacker.example/",
                                 {"http_bearer_token": seal(KEYRING, "tok", bound_to=API)}, "")
        finally:
            targets.install_keyring(None)


def test_plain_secrets_are_taken_as_an_operators_probe_gives_them():
    target = Target.from_settings(0, "x", "http", "https://x.test/",
                                  {"http_bearer_token": "tok-1"}, "")
    assert target.http_bearer_token == "tok-1"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_without_the_key_a_sealed_target_is_skipped_naming_server_and_setting():
    sealed = seal(KEYRING, "tok-secret", bound_to=API)
    with pytest.raises(ValueError, match="http_bearer_token of payments-api is sealed, but this "
                                         "exporter has no PROBE_SECRETS_KEY"):
        Target.from_group(_group(http_bearer_token=sealed))
    lines = _Lines()
    logger = logging.getLogger("exporter.discovery")
    disabled, level = logger.disabled, logger.level  # a portal app's logging setup may have
    logger.disabled, logger.level = False, logging.WARNING  # turned it off in this process
    logger.addHandler(lines)
    try:
        assert GroupParser().parse([_group(http_bearer_token=sealed)]) == []
    finally:
        logger.removeHandler(lines)
        logger.disabled, logger.level = disabled, level
    text = "\n".join(lines.lines)
    assert "http_bearer_token of payments-api" in text and "tok-secret" not in text


def test_a_wrong_key_is_refused_naming_the_setting(keyring):
    other = Keyring.from_text("another-exporters-key-" + "z" * 20)
    with pytest.raises(ValueError, match="tls_client_key of payments-api cannot be unsealed"):
        Target.from_group(_group(tls_client_cert="PEM", tls_client_key=seal(other, "KEY", bound_to=API)))


def test_tcp_and_dns_options():
    steps = [{"expect": "^220"}, {"send": "EHLO probe"}, {"starttls": True}, {"send": "QUIT"}]
    tcp = Target.from_group(_group("tcp", "mail.bank.test:25",
                                   tcp_query_response=json.dumps(steps), ip_protocol="ip4"))
    assert tcp.tcp_query_response == (("^220", None, False), (None, "EHLO probe", False),
                                      (None, None, True), (None, "QUIT", False))
    dns = Target.from_group(_group("dns", "www.bank.test", dns_transport="tcp",
                                   dns_answer_regex=r"IN\s+A\s+10\.",
                                   dns_answer_absent_regex="127\\.0\\.0\\.1"))
    assert (dns.dns_transport, dns.dns_answer_regex) == ("tcp", r"IN\s+A\s+10\.")
    plain = Target.from_group(_group("icmp", "gw.bank.test"))
    assert (plain.ip_protocol, plain.dns_transport, plain.tcp_query_response) == ("", "udp", ())


@pytest.mark.parametrize(("meta", "message"), [
    ({"ip_protocol": "ipx"}, "ip_protocol must be ip4, ip6 or empty"),
    ({"dns_transport": "quic"}, "dns_transport must be udp or tcp"),
    ({"tcp_query_response": '[{"expect": "(a"}]'}, "tcp_query_response: step 1: expect is not"),
    ({"tcp_query_response": '[{"wait": 1}]'}, "unknown key 'wait'"),
    ({"dns_answer_regex": "(x"}, "dns_answer_regex is not a valid regular expression"),
    ({"http_headers": '{"Host": "x"}'}, "Host is set by the probe itself"),
    ({"http_headers": '{"X-A": "a\\r\\nX-B: b"}'}, "value of X-A must be one line"),
    ({"http_basic_auth_password": "p"}, "needs http_basic_auth_username"),
    ({"tls_client_cert": "PEM"}, "tls_client_cert and tls_client_key go together"),
    ({"http_bearer_token": "t", "http_headers": '{"Authorization": "x"}'},
     "has an Authorization header"),
    ({"http_body": "x" * (64 * 1024 + 1)}, "http_body must be at most 64 KiB"),
])
def test_bad_options_are_refused_naming_the_setting(meta, message):
    with pytest.raises(ValueError, match=message):
        Target.from_settings(0, "x", "http", "https://x.test/", meta, "")


def test_the_exporter_reads_its_key_optionally(tmp_path):
    token = {"SD_TOKEN": "t" * 20}
    assert ExporterConfig.from_env(token).probe_secrets is None
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n")
    config = ExporterConfig.from_env({**token, "PROBE_SECRETS_KEY_FILE": str(key_file)})
    assert config.probe_secrets is not None and config.probe_secrets.count == 1
    with pytest.raises(ConfigError, match="PROBE_SECRETS_KEY: key 1 must be at least 32"):
        ExporterConfig.from_env({**token, "PROBE_SECRETS_KEY": "short"})
