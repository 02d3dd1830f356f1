"""/metrics for Prometheus, /probe for one-off checks, /healthz for orchestration.

/probe makes the exporter connect wherever it is told, so it needs the SD bearer token;
/metrics and /healthz stay open, as Prometheus and health checks expect. A target the
probe policy denies is a 400 naming it, before any connection is tried.

/probe takes blackbox_exporter's query string: ``target``, ``module`` (a servermon kind,
or a blackbox module, exporter/modules.py), Prometheus's
``X-Prometheus-Scrape-Timeout-Seconds`` header, and ``debug=true`` for a readable account
of the module and the result instead of metrics. Servermon's probe settings may be given
as parameters too; they override the module's.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from aiohttp import web

from exporter.metrics import CONTENT_TYPE, Exposition, probe_text
from exporter.modules import Modules
from exporter.probes import policy, run_probe
from exporter.scheduler import Scheduler
from exporter.targets import Target
from wire import PROBE_SETTINGS, SECRET_SETTINGS
from wire.blackbox import Module

DEFAULT_TIMEOUT_S = 10.0
# A classic blackbox-style job sends every setting of a server in /probe's query string: a
# client certificate and a sealed key, or a 64 KiB request body (wire.MAX_HTTP_BODY, three
# times that URL-encoded), are far longer than aiohttp's default 8 KiB request line.
SERVER_LIMITS = {"max_line_size": 256 * 1024}


def adhoc_target(query: dict[str, str], scrape_timeout: str | None = None,
                 modules: Modules | None = None) -> Target:
    """A Target from /probe's query string; ValueError names the bad parameter."""
    return _adhoc(query, scrape_timeout, modules or Modules())[1]


def _adhoc(query: dict[str, str], scrape_timeout: str | None,
           modules: Modules) -> tuple[Module, Target]:
    asked = query.get("target", "").strip()
    if not asked:
        raise ValueError("target is required")
    module = modules.get(query.get("module", "http"))
    address, settings = module.probe_target(asked)
    settings.update({name: query[name] for name in PROBE_SETTINGS if name in query})
    given = query.get("timeout", query.get("timeout_s"))
    if given is None:
        settings["timeout_s"] = _timeout_for(scrape_timeout, module.timeout_s)
    else:
        settings["timeout_s"] = _within_scrape(given, scrape_timeout)
    settings["interval_s"] = "86400"
    return module, Target.from_settings(0, address, module.kind, address, settings,
                                        labels_text="")


def _timeout_for(scrape_timeout: str | None, module_timeout: float | None = None) -> str:
    """Half a second inside Prometheus's scrape timeout, as blackbox does, and no longer
    than the module's own timeout; else the module's, else 10 s."""
    try:
        timeout = max(min(float(scrape_timeout or ""), 60.0) - 0.5, 0.5)
    except ValueError:
        timeout = DEFAULT_TIMEOUT_S if module_timeout is None else module_timeout
    return str(min(timeout, module_timeout) if module_timeout is not None else timeout)


def _within_scrape(given: str, scrape_timeout: str | None) -> str:
    """A timeout given as a parameter, cut to fit Prometheus's scrape timeout when a scrape
    asks (the classic job sends each server's timeout_s): a probe longer than the scrape
    would leave no probe_success at all."""
    try:
        return str(min(float(given), float(_timeout_for(scrape_timeout)))) if scrape_timeout \
            else given
    except ValueError:
        return given  # Target names the bad value


def _debug_text(module: Module, target: Target, query: Mapping[str, str], result,
                metrics: bytes) -> str:
    """blackbox's ``debug=true`` page, in its order: what happened, the metrics, the module
    (secrets shown as <secret>)."""
    settings = {**module.settings, **{n: query[n] for n in PROBE_SETTINGS if n in query}}
    lines = ["Logs for the probe:",
             f"module={module.name} prober={module.kind} target={target.address}",
             f"success={str(result.success).lower()} duration_seconds={result.duration_s:.6f}"
             + (f" reason={result.reason}" if result.reason else ""),
             "", "", "", "Metrics that would have been returned:", metrics.decode(), "", "",
             "Module configuration:", f"prober: {module.kind}",
             f"timeout: {target.timeout_s}s"]
    lines += [f"{name}: {'<secret>' if name in SECRET_SETTINGS and value else value}"
              for name, value in sorted(settings.items())]
    return "\n".join(lines) + "\n"


def _authorised(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
    return hmac.compare_digest(given.encode(), token.encode())


def build_app(scheduler: Scheduler, sd_token: str,
              status: Callable[[], dict[str, object]],
              modules: Modules | None = None) -> web.Application:
    """``status()`` adds the dependencies' state to /healthz. A deployment conflict fails
    it: unlike Redis or the portal being away, it lasts until someone fixes the setup.
    ``modules``: what ``/probe?module=`` names (BLACKBOX_CONFIG's, else the defaults)."""
    exposition = Exposition()
    modules = modules or Modules()

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
        query = dict(request.query)
        try:
            module, target = _adhoc(query,
                                    request.headers.get("X-Prometheus-Scrape-Timeout-Seconds"),
                                    modules)
            await policy.check_target(target)
        except policy.Denied as exc:
            field = "dns_resolver" if target.kind == "dns" else "target"
            return web.json_response({"error": f"{field}: {exc}", "field": field}, status=400)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        checked_at = datetime.now(UTC)
        async with scheduler.semaphore:
            result = await run_probe(target)
        if query.get("debug", "").lower() == "true":
            return web.Response(text=_debug_text(module, target, query, result,
                                                 probe_text(result)))
        if query.get("format") != "json":
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
