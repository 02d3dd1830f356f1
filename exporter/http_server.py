"""/metrics for Prometheus, /probe for one-off checks, /healthz for orchestration.

/probe makes the exporter connect wherever it is told, so it needs the SD bearer token;
/metrics and /healthz stay open, as Prometheus and health checks expect. A target the
probe policy denies is a 400 naming it, before any connection is tried.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from exporter.metrics import CONTENT_TYPE, Exposition, probe_text
from exporter.probes import policy, run_probe
from exporter.scheduler import Scheduler
from exporter.targets import Target
from wire import KINDS, PROBE_SETTINGS

DEFAULT_TIMEOUT_S = 10.0


def adhoc_target(query: dict[str, str], scrape_timeout: str | None = None) -> Target:
    """A Target from /probe's query string; ValueError names the bad parameter."""
    address = query.get("target", "").strip()
    if not address:
        raise ValueError("target is required")
    kind = query.get("module", "http")
    if kind not in KINDS:
        raise ValueError(f"module must be one of {', '.join(KINDS)}, got {kind!r}")
    settings = {name: query[name] for name in PROBE_SETTINGS if name in query}
    if "timeout" in query:
        settings["timeout_s"] = query["timeout"]
    elif "timeout_s" not in settings:
        settings["timeout_s"] = _timeout_for(scrape_timeout)
    settings["interval_s"] = "86400"
    return Target.from_settings(0, address, kind, address, settings, labels_text="")


def _timeout_for(scrape_timeout: str | None) -> str:
    """Half a second inside Prometheus's scrape timeout, as blackbox does; else 10 s."""
    try:
        return str(max(min(float(scrape_timeout or ""), 60.0) - 0.5, 0.5))
    except ValueError:
        return str(DEFAULT_TIMEOUT_S)


def _authorised(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
    return hmac.compare_digest(given.encode(), token.encode())


def build_app(scheduler: Scheduler, sd_token: str,
              status: Callable[[], dict[str, object]]) -> web.Application:
    """``status()`` adds the dependencies' state to /healthz. A deployment conflict fails
    it: unlike Redis or the portal being away, it lasts until someone fixes the setup."""
    exposition = Exposition()

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=await exposition.body(scheduler.states.values()),
                            headers={"Content-Type": CONTENT_TYPE})

    async def healthz(_request: web.Request) -> web.Response:
        state = status()
        failing = bool(state.get("deployment_conflict"))
        return web.json_response({"status": "failing" if failing else "ok",
                                  "targets": len(scheduler.states), **state},
                                 status=503 if failing else 200)

    async def probe(request: web.Request) -> web.Response:
        if not _authorised(request, sd_token):
            return web.json_response({"error": "a valid bearer token is required"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        try:
            target = adhoc_target(dict(request.query),
                                  request.headers.get("X-Prometheus-Scrape-Timeout-Seconds"))
            await policy.check_target(target)
        except policy.Denied as exc:
            field = "dns_resolver" if target.kind == "dns" else "target"
            return web.json_response({"error": f"{field}: {exc}", "field": field}, status=400)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        checked_at = datetime.now(UTC)
        async with scheduler.semaphore:
            result = await run_probe(target)
        if request.query.get("format") != "json":
            return web.Response(body=probe_text(result), headers={"Content-Type": CONTENT_TYPE})
        return web.json_response({
            "success": result.success,
            "reason": result.reason,
            "duration_seconds": round(result.duration_s, 6),
            "latency_ms": round(result.latency_s * 1000, 3),
            "status_code": result.http_status_code,
            "ssl_earliest_cert_expiry": result.cert_expiry,
            "dns_lookup_time_seconds": result.dns_lookup_s,
            "icmp_packet_loss_ratio": result.icmp_loss_ratio,
            "phases": result.phases,
            "checked_at": checked_at.isoformat(),
        })

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/probe", probe)
    return app
