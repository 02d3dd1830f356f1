"""/metrics for Prometheus, /probe for one-off checks, /healthz for orchestration."""

from __future__ import annotations

import hmac
import time

from aiohttp import web

from exporter.metrics import exposition, probe_lines
from exporter.scheduler import Scheduler, TargetState, run_probe
from exporter.targets import Target, escape_label, parse_statuses

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KINDS = ("http", "tcp", "icmp", "dns")


def adhoc_target(query: dict[str, str]) -> Target:
    """A Target from /probe's query string; ValueError names the bad parameter."""
    address = query.get("target", "").strip()
    if not address:
        raise ValueError("target is required")
    kind = query.get("module", "http")
    if kind not in KINDS:
        raise ValueError(f"module must be one of {', '.join(KINDS)}")
    try:
        timeout = float(query.get("timeout", "10"))
    except ValueError:
        raise ValueError("timeout must be a number of seconds") from None
    if not 0 < timeout <= 60:
        raise ValueError("timeout must be between 0 and 60 seconds")
    labels = (("target", address), ("kind", kind))
    return Target(
        server_id=0, name=address, kind=kind, address=address, labels=labels,
        timeout_s=timeout, interval_s=max(timeout * 2, 10), confirm_down=False,
        http_method=query.get("http_method", "GET"),
        http_statuses=parse_statuses(query.get("http_accepted_statuses", "200-399")),
        http_keyword=query.get("http_keyword") or None,
        http_keyword_absent=query.get("http_keyword_mode") == "absent",
        http_keyword_regex=query.get("http_keyword_regex") == "true",
        tls_verify=query.get("tls_verify", "true") != "false",
        tcp_tls=query.get("tcp_tls") == "true",
        dns_record_type=query.get("dns_record_type", "A"),
        dns_expected=query.get("dns_expected") or None,
        dns_resolver=query.get("dns_resolver") or None,
        label_text=",".join(f'{k}="{escape_label(v)}"' for k, v in labels),
    )


def build_app(scheduler: Scheduler, sd_token: str) -> web.Application:
    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=exposition(scheduler.states.values()),
                            headers={"Content-Type": CONTENT_TYPE})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "targets": len(scheduler.states)})

    async def probe(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), sd_token.encode()):
            return web.json_response({"error": "a valid bearer token is required"}, status=401)
        try:
            target = adhoc_target(dict(request.query))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        started = time.time()
        result = await run_probe(target)
        if request.query.get("format") == "json":
            return web.json_response({
                "success": result.success, "reason": result.reason,
                "duration_seconds": round(result.duration_s, 6),
                "http_status_code": result.http_status_code,
                "ssl_earliest_cert_expiry": result.cert_expiry,
                "dns_lookup_time_seconds": result.dns_lookup_s,
                "checked_at": started,
            })
        state = TargetState(target=target, result=result)
        text = "\n".join(probe_lines([state])) + "\n"
        return web.Response(text=text, headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/probe", probe)
    return app
