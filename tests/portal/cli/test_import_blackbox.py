"""flask --app portal servers import-blackbox: a blackbox setup's targets as servers."""

import json
from pathlib import Path

import pytest

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.servers.models import Server
from tests.factories import make_server

BLACKBOX_YML = """
modules:
  web_2xx:
    prober: http
    timeout: 4s
    http:
      no_follow_redirects: true
      fail_if_body_not_matches_regexp: ["ALL GOOD"]
  resolver_mx:
    prober: dns
    dns: {query_name: bank.test, query_type: MX}
"""


def _files(tmp_path: Path, targets: str, config: str | None = BLACKBOX_YML) -> list[str]:
    (tmp_path / "targets.csv").write_text(targets)
    args = ["servers", "import-blackbox", "--targets", str(tmp_path / "targets.csv")]
    if config is not None:
        (tmp_path / "blackbox.yml").write_text(config)
        args += ["--config", str(tmp_path / "blackbox.yml")]
    return args


def _servers() -> dict[str, Server]:
    return {server.name: server for server in db.session.scalars(db.select(Server))}


TARGETS = """name,target,module,group,environment
# the core banking web front
cbs-web,cbs.bank.test:8443/health,web_2xx,core,production
dns-mx,10.0.0.53,resolver_mx,,
db1,db1.bank.test:5432,tcp,core,production
"""


def test_a_dry_run_reports_each_line_and_creates_nothing(runner, tmp_path):
    result = runner.invoke(args=_files(tmp_path, TARGETS))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "line 3: cbs-web: would create http http://cbs.bank.test:8443/health (module web_2xx)",
        "line 4: dns-mx: would create dns bank.test (module resolver_mx)",
        "line 5: db1: would create tcp db1.bank.test:5432 (module tcp)",
        "dry run: 3 server(s) would be created; add --apply to create them"]
    assert _servers() == {}


def test_apply_creates_them_through_the_service_with_the_modules_settings(runner, tmp_path):
    result = runner.invoke(args=[*_files(tmp_path, TARGETS), "--apply"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "created 3 server(s)"
    servers = _servers()
    web = servers["cbs-web"]
    assert (web.kind, web.target, web.group_name, web.environment) == (
        "http", "http://cbs.bank.test:8443/health", "core", "production")
    assert web.timeout_s == 4 and web.http_follow_redirects is False
    assert (web.http_keyword, web.http_keyword_regex, web.http_keyword_mode) == (
        "ALL GOOD", True, "contains")
    assert web.http_accepted_statuses == "200-299"
    dns = servers["dns-mx"]
    assert (dns.target, dns.dns_resolver, dns.dns_record_type) == ("bank.test", "10.0.0.53", "MX")
    assert servers["db1"].state.status == "unknown"
    created = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action == "server.created")).all()
    assert sorted(event.target_name for event in created) == ["cbs-web", "db1", "dns-mx"]
    assert {event.actor_kind for event in created} == {"system"}


def test_duplicates_and_bad_lines_are_refused_and_nothing_is_created(runner, tmp_path):
    make_server("db1", kind="tcp", target="db1.bank.test:5432")
    targets = """name,target,module
web,http://web.bank.test/,http_2xx
web,http://web2.bank.test/,http_2xx
DB1,db1.bank.test:5432,tcp_connect
smtp,mail.bank.test:25,smtp_banner
bad,not a url,http_2xx
"""
    result = runner.invoke(args=[*_files(tmp_path, targets, config=None), "--apply"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "line 2: web: accepted http http://web.bank.test/ (module http_2xx)"
    assert lines[1] == "line 3: web: refused: name: appears earlier in the file"
    assert "line 5: smtp: refused: module: unknown module 'smtp_banner' (known: http, tcp, " \
           "icmp, dns, http_2xx," in result.output
    assert "line 4: DB1: refused: name: a server with that name exists" in result.output
    assert "line 6: bad: refused: target: " in result.output
    assert "nothing was created" in result.output
    assert set(_servers()) == {"db1"}


def test_a_name_twice_in_the_file_is_refused(runner, tmp_path):
    targets = "name,target,module\nweb,web.bank.test,http_2xx\nWEB,web2.bank.test,http_2xx\n"
    result = runner.invoke(args=_files(tmp_path, targets, config=None))
    assert result.exit_code == 1
    assert "line 3: WEB: refused: name: appears earlier in the file" in result.output


@pytest.mark.parametrize(("blackbox_yml", "targets", "message"), [
    ("modules: {x: {prober: grpc}}", "name,target,module\n",
     "--config: module x: prober: servermon probes http, tcp, icmp, dns, got 'grpc'"),
    (None, "name,target\n", "--targets: the header must name name, target, module and "
                            "optionally group, environment; missing module"),
    (None, "name,target,module,owner\n", "unknown column 'owner'"),
])
def test_a_bad_file_stops_before_any_line(runner, tmp_path, blackbox_yml, targets, message):
    result = runner.invoke(args=_files(tmp_path, targets, config=blackbox_yml))
    assert result.exit_code != 0 and message in result.output, result.output


def test_secrets_and_steps_of_a_module_are_stored_as_the_api_stores_them(runner, tmp_path):
    config = """
modules:
  api_key:
    prober: http
    http:
      headers: {X-Api-Key: key-0123456789}
      bearer_token: token-0123456789
  smtp_banner:
    prober: tcp
    tcp:
      query_response: [{expect: "^220 ", send: "QUIT"}]
"""
    targets = ("name,target,module\napi,https://api.bank.test/health,api_key\n"
               "smtp,mail.bank.test:25,smtp_banner\n")
    result = runner.invoke(args=[*_files(tmp_path, targets, config=config), "--apply"])
    assert result.exit_code == 0, result.output
    assert "key-0123456789" not in result.output and "token-0123456789" not in result.output
    servers = _servers()
    api = servers["api"]
    assert api.http_bearer_token.startswith("enc:v1:") and api.http_headers.startswith("enc:v1:")
    assert "token-0123456789" not in api.http_bearer_token
    steps = servers["smtp"].tcp_query_response
    assert (json.loads(steps) if isinstance(steps, str) else steps) == [
        {"expect": "^220 ", "send": "QUIT"}]
