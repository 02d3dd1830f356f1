"""The HTTP probe against real local servers: success, and a clear reason when it fails."""

import pytest

from exporter.probes import run_probe
from tests.exporter.conftest import run, target


def probe(t):
    return run(run_probe(t))


def test_a_healthy_page_succeeds_with_its_status_and_phases(http_base):
    result = probe(target("http", f"{http_base}/ok"))
    assert result.success and result.reason is None
    assert result.http_status_code == 200
    assert {"connect", "processing", "transfer"} <= set(result.phases)
    assert all(seconds >= 0 for seconds in result.phases.values())


@pytest.mark.parametrize(("path", "settings", "reason"), [
    ("/error", {}, "status 503"),
    ("/ok", {"http_keyword": "OK"}, "keyword 'OK' missing"),
    ("/ok", {"http_keyword": "ALL GOOD", "http_keyword_mode": "absent"},
     "keyword 'ALL GOOD' present"),
    ("/ok", {"http_keyword": r"status: \w+ BAD", "http_keyword_regex": True},
     "keyword 'status: \\\\w+ BAD' missing"),
    ("/loop", {}, "too many redirects"),
    ("/redirect", {"http_follow_redirects": False, "http_accepted_statuses": "200-299"},
     "status 302"),
])
def test_it_says_why_a_page_is_down(http_base, path, settings, reason):
    result = probe(target("http", f"{http_base}{path}", **settings))
    assert not result.success
    assert result.reason == reason


def test_a_keyword_found_in_the_body_passes(http_base):
    assert probe(target("http", f"{http_base}/ok", http_keyword="ALL GOOD")).success
    assert probe(target("http", f"{http_base}/ok", http_keyword=r"status: \w+ GOOD",
                        http_keyword_regex=True)).success


def test_it_follows_redirects_by_default(http_base):
    result = probe(target("http", f"{http_base}/redirect", http_keyword="ALL GOOD"))
    assert result.success and result.http_status_code == 200


def test_accepted_statuses_are_configurable(http_base):
    assert probe(target("http", f"{http_base}/error", http_accepted_statuses="500-599")).success
    assert probe(target("http", f"{http_base}/error", http_accepted_statuses="200,503")).success


@pytest.mark.parametrize("method", ["HEAD", "POST"])
def test_other_methods(http_base, method):
    result = probe(target("http", f"{http_base}/ok", http_method=method))
    assert result.success and result.http_status_code == 200


def test_a_stalled_server_times_out_on_time(http_base):
    result = probe(target("http", f"{http_base}/stall", timeout_s=0.5))
    assert not result.success and result.reason == "timeout after 0.5s"
    assert result.duration_s < 1.0


def test_a_slow_answer_fails_the_latency_limit(http_base):
    result = probe(target("http", f"{http_base}/slow", http_max_latency_ms=100))
    assert not result.success
    assert result.reason.startswith("slow: ") and result.reason.endswith("over 100 ms")


def test_a_closed_port_is_connection_refused(closed_port):
    result = probe(target("http", f"http://127.0.0.1:{closed_port}/"))
    assert not result.success and result.reason == "connection refused"


def test_an_unknown_host_is_a_dns_failure():
    result = probe(target("http", "http://no-such-host.invalid/"))
    assert not result.success and result.reason.startswith("DNS lookup failed")


def test_https_records_the_certificate_expiry_without_verification(tls_site):
    result = probe(target("http", f"{tls_site.base}/ok", tls_verify=False))
    assert result.success, result.reason
    assert result.cert_expiry == tls_site.expiry


def test_https_with_verification_refuses_a_self_signed_certificate(tls_site):
    result = probe(target("http", f"{tls_site.base}/ok", tls_verify=True))
    assert not result.success
    assert result.reason.startswith("certificate verify failed: ")
    assert "self-signed" in result.reason or "self signed" in result.reason


def test_an_expired_certificate_says_so(expired_tls_site, trusting):
    trusting(expired_tls_site.ca_file)
    result = probe(target("http", f"{expired_tls_site.base}/ok", tls_verify=True))
    assert not result.success and result.reason == "certificate expired"


def test_no_cookies_carry_over_between_probes(background, http_base):
    from aiohttp import web

    from tests.exporter.conftest import _start_site

    seen = []

    async def handler(request):
        seen.append(request.headers.get("Cookie"))
        response = web.Response(text="ok")
        response.set_cookie("session", "secret")
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    port = background.call(_start_site(app))

    async def twice():
        from exporter.probes.http import probe_http

        for _ in range(2):
            await probe_http(target("http", f"http://127.0.0.1:{port}/"))

    run(twice())
    assert seen == [None, None]
