"""blackbox.yml read as servermon settings: mapped, or refused naming module and field."""

import json
from pathlib import Path

import pytest

from wire import PROBE_SETTINGS, query_response_steps
from wire.blackbox import BlackboxError, default_modules, load, parse_duration, parse_text

DEBIAN_BLACKBOX_YML = Path("/etc/prometheus/blackbox.yml")


def problems(text: str, base_dir: Path = Path()) -> list[str]:
    with pytest.raises(BlackboxError) as caught:
        parse_text(text, base_dir)
    return caught.value.problems


def test_an_http_module_maps_every_field_it_has(tmp_path):
    (tmp_path / "client.pem").write_text("CERT PEM")
    (tmp_path / "client.key").write_text("KEY PEM")
    (tmp_path / "password").write_text("s3cret\n")
    modules = parse_text("""
modules:
  api:
    prober: http
    timeout: 1m30s
    http:
      valid_status_codes: [200, 204]
      method: post
      headers: {X-Api-Key: abc, Host: api.bank.test}
      body: '{"ping": true}'
      no_follow_redirects: true
      fail_if_body_not_matches_regexp: ['"status":\\s*"ok"']
      fail_if_ssl: false
      enable_http2: true
      basic_auth: {username: probe, password_file: password}
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      tls_config: {insecure_skip_verify: true, cert_file: client.pem, key_file: client.key}
""", tmp_path)
    api = modules["api"]
    assert api.kind == "http" and api.timeout_s == 90
    assert dict(api.settings) == {
        "http_accepted_statuses": "200,204", "http_method": "POST",
        "http_headers": json.dumps({"Host": "api.bank.test", "X-Api-Key": "abc"}),
        "http_body": '{"ping": true}', "http_follow_redirects": "false",
        "http_keyword": '"status":\\s*"ok"', "http_keyword_regex": "true",
        "http_keyword_mode": "contains", "http_basic_auth_username": "probe",
        "http_basic_auth_password": "s3cret", "ip_protocol": "ip4", "tls_verify": "false",
        "tls_client_cert": "CERT PEM", "tls_client_key": "KEY PEM"}
    assert set(api.settings) <= set(PROBE_SETTINGS)
    assert api.probe_target("bank.test:8080/health") == ("http://bank.test:8080/health",
                                                         dict(api.settings))


def test_defaults_are_blackboxs_2xx_and_either_ip_family():
    module = parse_text("modules: {web: {prober: http, http: {preferred_ip_protocol: ip6}}}")
    assert dict(module["web"].settings) == {"http_accepted_statuses": "200-299"}
    absent = parse_text("modules: {m: {prober: http, http: {fail_if_body_matches_regexp: [x+]}}}")
    assert absent["m"].settings["http_keyword_mode"] == "absent"


def test_a_dns_module_turns_blackboxs_target_into_the_resolver():
    modules = parse_text("""
modules:
  dns_mx:
    prober: dns
    dns:
      query_name: bank.test
      query_type: MX
      transport_protocol: tcp
      valid_rcodes: [NOERROR]
      validate_answer_rrs:
        fail_if_none_matches_regexp: ['mail\\.bank\\.test\\.$']
        fail_if_matches_regexp: ['spam']
""")
    module = modules["dns_mx"]
    assert module.kind == "dns" and module.query_name == "bank.test"
    address, settings = module.probe_target("10.0.0.53:5353")
    assert address == "bank.test"
    assert settings == {"dns_record_type": "MX", "dns_transport": "tcp",
                        "dns_answer_regex": "mail\\.bank\\.test\\.$",
                        "dns_answer_absent_regex": "spam", "dns_resolver": "10.0.0.53:5353"}


def test_tcp_query_response_steps_keep_blackboxs_shape():
    modules = parse_text("""
modules:
  smtp_starttls:
    prober: tcp
    tcp:
      query_response:
        - expect: "^220 "
          send: "EHLO prober"
        - expect: "^250 STARTTLS"
        - send: "STARTTLS"
        - starttls: true
""")
    steps = json.loads(modules["smtp_starttls"].settings["tcp_query_response"])
    assert steps == [{"expect": "^220 ", "send": "EHLO prober"}, {"expect": "^250 STARTTLS"},
                     {"send": "STARTTLS"}, {"starttls": True}]
    assert len(query_response_steps(json.dumps(steps))) == 4  # as the exporter reads them


def test_what_servermon_cannot_check_is_refused_naming_module_and_field():
    found = problems("""
modules:
  proxied:
    prober: http
    http:
      proxy_url: http://proxy:3128
      fail_if_header_matches: [{header: Server, regexp: nginx}]
      valid_http_versions: [HTTP/2.0]
      frobnicate: 1
  many:
    prober: http
    http:
      fail_if_body_not_matches_regexp: [a, b]
  both:
    prober: http
    http:
      fail_if_body_matches_regexp: [a]
      fail_if_body_not_matches_regexp: [b]
  put:
    prober: http
    http: {method: PUT}
  bad_regex:
    prober: http
    http: {fail_if_body_matches_regexp: ['(a']}
  ttl:
    prober: icmp
    icmp: {ttl: 5}
  any:
    prober: dns
    dns: {query_name: bank.test}
  grpc:
    prober: grpc
  wrong_section:
    prober: tcp
    http: {method: GET}
  slow:
    prober: tcp
    timeout: soon
  irc:
    prober: tcp
    tcp:
      query_response:
        - expect: "PING :([^ ]+)"
          send: "PONG ${1}"
  http:
    prober: http
    http: {method: POST}
""")
    expected = [
        "module proxied: http.frobnicate: is not supported",
        "module proxied: http.proxy_url: servermon supports only blackbox's default",
        "module proxied: http.fail_if_header_matches: servermon supports only",
        "module proxied: http.valid_http_versions: servermon supports only",
        "module many: http.fail_if_body_not_matches_regexp: servermon checks one regular",
        "module both: http.fail_if_body_matches_regexp: servermon checks one body regex",
        "module put: http.method: servermon sends GET, HEAD, POST, got 'PUT'",
        "module bad_regex: http.fail_if_body_matches_regexp[0]: not a valid regular expression",
        "module ttl: icmp.ttl: servermon supports only blackbox's default (unset), got 5",
        "module any: dns.query_type: must be one of A, AAAA",
        "module grpc: prober: servermon probes http, tcp, icmp, dns, got 'grpc'",
        "module wrong_section: http: has no effect with prober tcp",
        "module slow: timeout: must be a duration",
        "module irc: tcp.query_response[0].send: servermon does not put what expect matched",
        "module http: prober: 'http' is servermon's own http probe",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in found), (start, found)
    assert len(found) == len(expected), found


def test_files_are_read_relative_to_the_config_and_missing_ones_named(tmp_path):
    found = problems("modules: {m: {prober: http, http: {bearer_token_file: token}}}", tmp_path)
    assert found == [f"module m: http.bearer_token_file: cannot read {tmp_path / 'token'}: "
                     "No such file or directory"]
    (tmp_path / "token").write_text("t0ken\n")
    (tmp_path / "blackbox.yml").write_text(
        "modules: {m: {prober: http, http: {bearer_token_file: token}}}")
    assert load(tmp_path / "blackbox.yml")["m"].settings["http_bearer_token"] == "t0ken"


def test_the_file_itself_must_be_a_modules_mapping(tmp_path):
    assert problems("modules: [a]") == ["the file must have a 'modules:' mapping of module names"]
    assert problems("modules: {}\nextra: 1") == ["extra: is not a blackbox.yml field (only "
                                                 "modules is)"]
    assert problems("modules: {a: [")[0].startswith("not valid YAML")
    with pytest.raises(BlackboxError, match="cannot read"):
        load(tmp_path / "absent.yml")


def test_debians_example_file_is_read_with_its_unsupported_modules_named():
    if not DEBIAN_BLACKBOX_YML.exists():
        pytest.skip("prometheus-blackbox-exporter is not installed")
    with pytest.raises(BlackboxError) as caught:
        load(DEBIAN_BLACKBOX_YML)
    refused = sorted(line.split(":")[0] for line in caught.value.problems)
    assert refused == ["module grpc", "module grpc_plain", "module icmp_ttl5", "module irc_banner"]


def test_the_shipped_defaults_are_debians_modules_servermon_can_probe():
    modules = default_modules()
    assert sorted(modules) == ["http_2xx", "http_post_2xx", "icmp", "pop3s_banner",
                               "ssh_banner", "tcp_connect"]
    assert modules["http_post_2xx"].settings["http_method"] == "POST"
    assert modules["pop3s_banner"].settings["tcp_tls"] == "true"


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5), ("1m30s", 90), ("500ms", 0.5),
                                               ("1.5s", 1.5)])
def test_durations_read_as_go_writes_them(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)
