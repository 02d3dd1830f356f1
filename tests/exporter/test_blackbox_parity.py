"""Our metric families against Debian's real blackbox exporter probing the same target.

One HTTPS target (a test CA's certificate for localhost, trusted by both through
SSL_CERT_FILE, a body regex) probed by ``prometheus-blackbox-exporter`` with http_2xx and
by this exporter from service discovery: every family blackbox writes is in our scrape,
with blackbox's labels after the server's own, and the facts both can see (address,
HTTP version, lengths, certificate) agree.

Families left out on purpose, each absent from ``OMITTED`` until a case needs it:
blackbox also writes ``probe_failed_due_to_regex`` for a check without any regex (always
0); we write it only for servers with a keyword, so the target here has one. Labels we
add: ``serialnumber`` on probe_ssl_last_chain_info (blackbox 0.24 and later have it; the
0.23 Debian ships does not).
"""

from __future__ import annotations

import os
import re

import pytest
import requests

from tests.exporter.conftest import group, load, promtool_check
from tests.support.binaries import binary, free_port, running
from wire import TARGET_LABELS

OMITTED: dict[str, str] = {}
EXTRA_LABELS = {"probe_ssl_last_chain_info": {"serialnumber"}}
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str) -> dict[str, list[tuple[list[tuple[str, str]], str]]]:
    """Family name to its samples: (labels in order, value)."""
    found: dict[str, list] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1).startswith("probe_"):
            labels = _LABEL.findall(match.group(2) or "")
            found.setdefault(match.group(1), []).append((labels, match.group(3)))
    return found


@pytest.fixture
def blackbox(tmp_path, trusted_tls_site):
    config = tmp_path / "blackbox.yml"
    config.write_text("""modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      fail_if_body_not_matches_regexp: ["ALL GOOD"]
""")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SSL_CERT_FILE": str(trusted_tls_site.ca_file)}
    with running([binary("prometheus-blackbox-exporter"), f"--config.file={config}",
                  f"--web.listen-address=127.0.0.1:{port}"], f"{url}/-/healthy",
                 tmp_path / "blackbox.log", env=env):
        yield url


def test_every_family_blackbox_writes_for_https_is_ours_with_its_labels(
        blackbox, running, sd_server, redis_db, trusted_tls_site, trusting):
    trusting(trusted_tls_site.ca_file)
    site = f"{trusted_tls_site.base}/ok"
    theirs = samples(requests.get(f"{blackbox}/probe", params={
        "target": site, "module": "http_2xx"}, timeout=10).text)
    assert theirs["probe_success"][0][1] == "1"
    load(running, sd_server, [group(1, "http", site, http_keyword="ALL GOOD",
                                    http_keyword_regex="true", tls_verify="true")], redis_db)
    text = running.scrape()
    ours = samples(text)
    assert ours["probe_success"][0][1] == "1"

    missing = set(theirs) - set(ours) - set(OMITTED)
    assert not missing, f"blackbox writes {sorted(missing)}, we do not"
    for family, their_samples in theirs.items():
        if family in OMITTED:
            continue
        server_labels = {"server_id", "server", *TARGET_LABELS}
        their_names = {frozenset(name for name, _ in labels) for labels, _ in their_samples}
        our_names = set()
        for labels, _ in ours[family]:
            names = [name for name, _ in labels]
            assert names[:2] == ["server_id", "server"], (family, names)  # server's first
            extra = tuple(name for name in names if name not in server_labels)
            our_names.add(frozenset(extra) - EXTRA_LABELS.get(family, set()))
        assert our_names == their_names, family

    def value(found, family):
        return found[family][0][1]

    for family in ("probe_ip_protocol", "probe_ip_addr_hash", "probe_http_version",
                   "probe_http_ssl", "probe_http_redirects", "probe_http_content_length",
                   "probe_http_uncompressed_body_length", "probe_http_status_code",
                   "probe_failed_due_to_regex", "probe_ssl_earliest_cert_expiry",
                   "probe_ssl_last_chain_expiry_timestamp_seconds"):
        assert float(value(ours, family)) == float(value(theirs, family)), family
    chain = dict(theirs["probe_ssl_last_chain_info"][0][0])
    our_chain = dict(ours["probe_ssl_last_chain_info"][0][0])
    assert {name: our_chain[name] for name in chain} == chain
    assert dict(ours["probe_tls_version_info"][0][0])["version"] == \
        dict(theirs["probe_tls_version_info"][0][0])["version"]
    phases = {dict(labels)["phase"] for labels, _ in ours["probe_http_duration_seconds"]}
    assert phases == {"resolve", "connect", "tls", "processing", "transfer"}
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr
