"""blackbox's probe options on servers: validated field by field, secrets sealed at rest,
never returned, audited as "changed", and sent to the exporter sealed through SD."""

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from exporter import targets
from exporter.targets import Target
from portal.audit.models import AuditEvent
from portal.config import Config, ConfigError
from portal.extensions import db
from portal.servers.discovery import target_group
from portal.servers.models import Server
from tests.conftest import make_config
from tests.factories import login, make_server, make_user
from tests.portal.servers.pages import server_form
from tests.support.pages import post_form, sign_in
from wire import META_PREFIX, SECRET_SETTINGS
from wire.secrets import Keyring, is_sealed, unseal

HTTP = {"name": "payments-api", "kind": "http", "target": "https://api.bank.example/health"}
SECRETS = {"X-Api-Key": "k-live-123", "Accept": "application/json"}


def _pem(cert=None, key=None) -> str:
    if cert is not None:
        return cert.public_bytes(serialization.Encoding.PEM).decode()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pair(name: str = "servermon-probe") -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return _pem(cert=cert), _pem(key=key)


@pytest.fixture
def headers(client):
    return login(client, make_user("it_staff"))


@pytest.fixture
def keyring(config):
    return Keyring.from_text(config.probe_secrets_key)


def _stored(server_id: int) -> Server:
    db.session.expire_all()
    return db.session.get(Server, server_id)


def test_secrets_are_sealed_at_rest_and_never_returned(client, headers, keyring):
    cert, key = _pair()
    response = client.post("/api/servers", headers=headers, json={
        **HTTP, "http_method": "POST", "http_headers": SECRETS, "http_body": '{"ping": 1}',
        "http_bearer_token": "tok-secret-456", "tls_client_cert": cert, "tls_client_key": key,
        "ip_protocol": "ip4"})
    assert response.status_code == 201, response.get_json()
    text = response.get_data(as_text=True)
    for secret in ("k-live-123", "tok-secret-456", "PRIVATE KEY", "enc:v1:"):
        assert secret not in text
    body = response.get_json()
    assert body["http_headers"] == {"set": True, "names": ["X-Api-Key", "Accept"]}
    assert body["http_bearer_token"] == {"set": True}
    assert body["tls_client_key"] == {"set": True}
    assert body["http_basic_auth_password"] == {"set": False}
    assert (body["http_body"], body["ip_protocol"]) == ('{"ping": 1}', "ip4")
    assert body["tls_client_cert"].startswith("-----BEGIN CERTIFICATE-----")
    server = _stored(body["id"])
    for name in ("http_headers", "http_bearer_token", "tls_client_key"):
        assert is_sealed(getattr(server, name))
    assert json.loads(unseal(keyring, server.http_headers, bound_to=server.target)) == SECRETS
    assert unseal(keyring, server.http_bearer_token, bound_to=server.target) == "tok-secret-456"
    assert unseal(keyring, server.tls_client_key, bound_to=server.target) == key.strip() + "\n"
    listed = client.get("/api/servers", headers=headers).get_data(as_text=True)
    assert "k-live-123" not in listed and "enc:v1:" not in listed


def test_an_edit_keeps_clears_or_replaces_each_secret(client, headers, keyring):
    server = make_server("api", http_headers=SECRETS, http_bearer_token="tok-1")
    sealed = _stored(server.id).http_headers, _stored(server.id).http_bearer_token

    def patch(changes):
        response = client.patch(f"/api/servers/{server.id}", json=changes, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    patch({"timeout_s": 5})  # not named: kept, the very same sealed text
    assert (_stored(server.id).http_headers, _stored(server.id).http_bearer_token) == sealed
    shown = patch({"http_headers": {"set": True, "names": ["X-Api-Key", "Accept"]},
                   "http_bearer_token": {"set": True}})  # what was read, sent back
    assert (_stored(server.id).http_headers, _stored(server.id).http_bearer_token) == sealed
    assert shown["http_bearer_token"] == {"set": True}
    patch({"http_bearer_token": "tok-2"})
    assert unseal(keyring, _stored(server.id).http_bearer_token, bound_to=server.target) == "tok-2"
    assert _stored(server.id).http_headers == sealed[0]
    shown = patch({"http_bearer_token": None, "http_headers": {}})
    assert shown["http_bearer_token"] == {"set": False}
    assert shown["http_headers"] == {"set": False, "names": []}
    assert (_stored(server.id).http_headers, _stored(server.id).http_bearer_token) == (None, None)


def test_the_audit_trail_says_a_secret_changed_and_nothing_more(client, headers):
    server = make_server("api", http_headers=SECRETS)
    client.patch(f"/api/servers/{server.id}", headers=headers,
                 json={"http_headers": {"X-Api-Key": "k-rotated-789"}, "http_bearer_token": "t-9"})
    client.patch(f"/api/servers/{server.id}", headers=headers, json={"http_headers": None})
    created, first, second = db.session.scalars(
        select(AuditEvent).where(AuditEvent.target_kind == "server").order_by(AuditEvent.id))
    assert created.after["http_headers"] == "********"
    assert first.before == {"http_headers": "********", "http_bearer_token": None}
    assert first.after == {"http_headers": "changed", "http_bearer_token": "changed"}
    assert second.before == {"http_headers": "********"} and second.after == {"http_headers": None}
    trail = json.dumps([row.before for row in (created, first, second)]
                       + [row.after for row in (created, first, second)])
    assert "k-live" not in trail and "k-rotated" not in trail and "enc:v1:" not in trail


def test_sd_sends_the_sealed_text_which_the_exporter_opens(app, config):
    cert, key = _pair()
    server = make_server("api", http_headers=SECRETS, http_basic_auth_username="probe",
                         http_basic_auth_password="pa55", tls_client_cert=cert,
                         tls_client_key=key)
    tcp = make_server("smtp", kind="tcp", target="mail.bank.example:25", tcp_query_response=[
        {"expect": "^220"}, {"send": "QUIT"}])
    group = target_group(server)
    for name in SECRET_SETTINGS:
        if name != "http_bearer_token":
            assert group["labels"][f"{META_PREFIX}{name}"] == getattr(_stored(server.id), name)
            assert is_sealed(group["labels"][f"{META_PREFIX}{name}"])
    assert "pa55" not in json.dumps(group) and "k-live" not in json.dumps(group)
    targets.install_keyring(Keyring.from_text(config.probe_secrets_key))
    try:
        target = Target.from_group(group)
        smtp = Target.from_group(target_group(tcp))
    finally:
        targets.install_keyring(None)
    assert target.http_headers == tuple(SECRETS.items())
    assert target.http_basic_auth == ("probe", "pa55")
    assert target.tls_client_key == key.strip() + "\n"
    assert smtp.tcp_query_response == (("^220", None, False), (None, "QUIT", False))


@pytest.mark.parametrize(("sent", "field", "message"), [
    ({"http_headers": {"Bad Name": "x"}}, "http_headers", "not a valid header name"),
    ({"http_headers": {"X-A": "one\r\nX-B: two"}}, "http_headers", "must be one line"),
    ({"http_headers": {"Host": "other.example"}}, "http_headers", "set by the probe itself"),
    ({"http_headers": {"content-length": "4"}}, "http_headers", "set by the probe itself"),
    ({"http_headers": {f"X-{n}": "v" for n in range(31)}}, "http_headers", "at most 30"),
    ({"http_headers": {"Authorization": "x"}, "http_bearer_token": "t"}, "http_headers",
     "Authorization header"),
    ({"http_bearer_token": "t\nX-Evil: 1"}, "http_bearer_token", "one line"),
    ({"http_bearer_token": "t", "http_basic_auth_username": "u"}, "http_bearer_token", "not both"),
    ({"http_basic_auth_password": "p"}, "http_basic_auth_username", "needed"),
    ({"http_body": "x" * (64 * 1024 + 1)}, "http_body", "64 KiB"),
    ({"tls_client_cert": "not a cert", "tls_client_key": "x"}, "tls_client_cert", "PEM certificate"),
    ({"tls_client_cert": "CERT"}, "tls_client_cert", "PEM certificate"),
    ({"ip_protocol": "ipv4"}, "ip_protocol", ""),
    ({"dns_transport": "tcp"}, "dns_transport", "only to dns"),
    ({"tcp_query_response": [{"expect": "^220"}]}, "tcp_query_response", "only to tcp"),
    ({"dns_answer_regex": "x"}, "dns_answer_regex", "only to dns"),
    ({"http_bearer_token": "enc:v1:abc"}, "http_bearer_token", "accepted only as stored"),
])
def test_a_bad_option_is_a_400_naming_the_field(client, headers, sent, field, message):
    response = client.post("/api/servers", json={**HTTP, **sent}, headers=headers)
    assert response.status_code == 400, response.get_json()
    details = response.get_json()["details"]
    assert field in details and message in details[field], details
    assert "one\r\nX-B" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("sent", "field", "message"), [
    ({"tcp_query_response": [{"expect": "(unclosed"}]}, "tcp_query_response",
     "step 1: expect is not a valid regular expression"),
    ({"tcp_query_response": [{"wait": 3}]}, "tcp_query_response", "unknown key 'wait'"),
    ({"tcp_query_response": [{"starttls": True}], "tcp_tls": True}, "tcp_query_response",
     "tcp_tls already"),
    ({"http_headers": {"X": "y"}}, "http_headers", "only to http"),
])
def test_tcp_options_are_checked(client, headers, sent, field, message):
    response = client.post("/api/servers", headers=headers, json={
        "name": "smtp", "kind": "tcp", "target": "mail.bank.example:25", **sent})
    assert response.status_code == 400
    assert message in response.get_json()["details"][field]


def test_a_key_must_match_its_certificate_and_have_no_passphrase(client, headers):
    cert, _key = _pair()
    _other_cert, other_key = _pair("someone-else")
    response = client.post("/api/servers", headers=headers,
                           json={**HTTP, "tls_client_cert": cert, "tls_client_key": other_key})
    assert response.get_json()["details"] == {
        "tls_client_key": "does not match the client certificate"}
    locked = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass")).decode()
    response = client.post("/api/servers", headers=headers,
                           json={**HTTP, "tls_client_cert": cert, "tls_client_key": locked})
    assert "without a passphrase" in response.get_json()["details"]["tls_client_key"]


def test_dns_options_save(client, headers):
    response = client.post("/api/servers", headers=headers, json={
        "name": "www", "kind": "dns", "target": "www.bank.example", "dns_transport": "tcp",
        "dns_answer_regex": r"IN\s+A\s+10\.", "dns_answer_absent_regex": "127\\.0\\.0\\.1",
        "ip_protocol": "ip6"})
    assert response.status_code == 201, response.get_json()
    labels = target_group(_stored(response.get_json()["id"]))["labels"]
    assert labels[f"{META_PREFIX}dns_transport"] == "tcp"
    assert labels[f"{META_PREFIX}dns_answer_regex"] == r"IN\s+A\s+10\."
    assert labels[f"{META_PREFIX}ip_protocol"] == "ip6"


def test_the_form_shows_a_secret_is_set_but_not_its_value(client, keyring):
    sign_in(client)
    server = make_server("api", http_headers=SECRETS, http_bearer_token="tok-1")
    page = client.get(f"/servers/{server.id}/edit").get_data(as_text=True)
    assert 'data-testid="secret-set-http_headers"' in page
    assert "X-Api-Key, Accept" in page
    assert "k-live-123" not in page and "tok-1" not in page and "enc:v1:" not in page
    assert 'name="http_bearer_token__clear"' in page
    sealed = _stored(server.id).http_headers
    form = server_form(name="api", target="https://api.bank.example/health")
    assert post_form(client, f"/servers/{server.id}/edit", form).status_code == 302
    assert _stored(server.id).http_headers == sealed  # blank: kept
    assert unseal(keyring, _stored(server.id).http_bearer_token, bound_to=server.target) == "tok-1"
    response = post_form(client, f"/servers/{server.id}/edit", {
        **form, "http_headers": "X-Api-Key: k-new\nX-Trace: 1", "http_bearer_token__clear": "on"})
    assert response.status_code == 302
    assert json.loads(unseal(keyring, _stored(server.id).http_headers, bound_to=server.target)) == \
        {"X-Api-Key": "k-new", "X-Trace": "1"}
    assert _stored(server.id).http_bearer_token is None


def test_a_bad_header_line_in_the_form_is_an_error_on_the_field(client):
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(http_headers="no colon here"))
    assert response.status_code == 400
    assert 'data-field-error="http_headers"' in response.get_data(as_text=True)


def test_test_now_sends_secrets_sealed(client, headers, keyring, monkeypatch):
    sent = {}

    class Answer:
        status_code = 200
        headers = {"Content-Type": "application/json"}

        @staticmethod
        def json():
            return {"success": True}

    def fake_get(url, params, **kwargs):
        sent.update(params)
        return Answer()

    monkeypatch.setattr("portal.servers.probe_now.requests.get", fake_get)
    response = client.post("/api/servers/test", headers=headers, json={
        **HTTP, "http_bearer_token": "tok-now", "http_headers": {"X-K": "v"}})
    assert response.status_code == 200, response.get_json()
    assert is_sealed(sent["http_bearer_token"]) and "tok-now" not in json.dumps(sent)
    assert unseal(keyring, sent["http_bearer_token"], bound_to=HTTP["target"]) == "tok-now"
    assert json.loads(unseal(keyring, sent["http_headers"], bound_to=HTTP["target"])) == {"X-K": "v"}


def test_the_portal_requires_a_probe_secrets_key(migrated):
    base = {"SECRET_KEY": "k" * 40, "SD_TOKEN": "s" * 20, "ALERTMANAGER_WEBHOOK_TOKEN": "a" * 20}
    with pytest.raises(ConfigError, match=r"^PROBE_SECRETS_KEY is required$"):
        Config.from_env(base)
    with pytest.raises(ConfigError, match="PROBE_SECRETS_KEY must be at least 32"):
        Config.from_env({**base, "PROBE_SECRETS_KEY": "short"})
    with pytest.raises(ConfigError, match="PROBE_SECRETS_KEY: key 2 must be at least 32"):
        Config.from_env({**base, "PROBE_SECRETS_KEY": "n" * 32 + ",short"})
    assert make_config(migrated, PROBE_SECRETS_KEY="n" * 32 + "," + "o" * 32).probe_secrets_key


def test_a_failed_save_says_which_typed_secrets_were_not_kept(client, keyring):
    """A secret is never written back into the page: after a failed save its field is
    blank, so the page says so, rather than a corrected save dropping it unnoticed."""
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(
        interval_s="10", timeout_s="10", http_bearer_token="tok-typed",
        http_headers="X-Api-Key: k-typed"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'data-field-error="timeout_s"' in page
    assert "tok-typed" not in page and "k-typed" not in page
    for name in ("http_bearer_token", "http_headers"):
        assert f'data-testid="secret-retype-{name}"' in page
    assert 'data-testid="secret-retype-http_basic_auth_password"' not in page  # none typed
    assert "<details class=\"mt-3\" open>" in page  # the notes are in view
    saved = post_form(client, "/servers/new", server_form(
        interval_s="10", timeout_s="5", http_bearer_token="tok-typed"))
    assert saved.status_code == 302
    assert "secret-retype" not in client.get(saved.headers["Location"]).get_data(as_text=True)


def test_test_now_says_a_typed_secret_must_be_entered_again_to_save(client):
    sign_in(client)
    page = post_form(client, "/servers/new", server_form(
        http_bearer_token="tok-typed", action="test")).get_data(as_text=True)
    assert 'data-testid="probe-result"' in page  # tested (here: the exporter is away)
    assert 'data-testid="secret-retype-http_bearer_token"' in page and "tok-typed" not in page
    assert "enter it again to save it" in page


def test_a_new_target_seals_the_secrets_again_for_it(client, headers, keyring):
    """A sealed value opens only for the target it was sealed for (wire/secrets.py), so
    moving a server seals its secrets again; what SD sends opens for the new target only."""
    server = make_server("api", http_bearer_token="tok-1")
    old_target, before = server.target, _stored(server.id).http_bearer_token
    response = client.patch(f"/api/servers/{server.id}", headers=headers,
                            json={"target": "https://api2.bank.example/health"})
    assert response.status_code == 200, response.get_json()
    after = _stored(server.id).http_bearer_token
    assert after != before
    assert unseal(keyring, after, bound_to="https://api2.bank.example/health") == "tok-1"
    with pytest.raises(ValueError, match="another target"):
        unseal(keyring, after, bound_to=old_target)
    sent = target_group(_stored(server.id))["labels"][f"{META_PREFIX}http_bearer_token"]
    assert sent == after


def test_another_servers_sealed_value_cannot_be_attached(client, headers, keyring):
    """Sealed text read from SD, given to a server of the caller's (pointing elsewhere), is
    refused rather than opened: it would send the victim's token to that address."""
    victim = make_server("core-api", http_bearer_token="tok-victim")
    stolen = target_group(_stored(victim.id))["labels"][f"{META_PREFIX}http_bearer_token"]
    mine = make_server("mine", target="https://collector.example/")
    for path, method, body in (
            (f"/api/servers/{mine.id}", client.patch, {"http_bearer_token": stolen}),
            ("/api/servers", client.post, {**HTTP, "name": "mine-2",
                                           "target": "https://collector.example/x",
                                           "http_bearer_token": stolen})):
        response = method(path, headers=headers, json=body)
        assert response.status_code == 400, response.get_json()
        assert "http_bearer_token" in response.get_json()["details"]
    assert _stored(mine.id).http_bearer_token is None
