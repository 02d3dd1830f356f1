"""``servermon_server_registered``: one series per enabled server.

Prometheus joins it against ``probe_success`` to alert on a server nobody probes
(``TargetMissing`` in alert_rules/), so the registry itself is watched, not only probes.
Its text is built once per change of the registry (registry_cache), not at every scrape:
at 10,000 servers a build is 150-570 ms of a worker's CPU, every 15 s, and the heartbeat
pings that worker served meanwhile waited it out.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import select

from portal.extensions import db
from portal.servers import registry_cache
from portal.servers.models import Server


class RegisteredServers:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "servermon_server_registered", "Enabled servers registered in the portal",
            labels=["server_id", "server", "kind"],
        )
        rows = db.session.execute(
            select(Server.id, Server.name, Server.kind).where(Server.enabled.is_(True))
        )
        for server_id, name, kind in rows:
            family.add_metric([str(server_id), name, kind], 1)
        yield family


def registered_exposition() -> bytes:
    """The gauge in the text exposition format, as of the registry's last change."""
    return registry_cache.cached(("metrics", "registered"), _build)


def _build() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RegisteredServers())
    return generate_latest(registry)
