"""``servermon_server_registered``: one series per enabled server, read at scrape time.

Prometheus joins it against ``probe_success`` to alert on a server nobody probes
(``TargetMissing`` in alert_rules/), so the registry itself is watched, not only probes.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import select

from portal.extensions import db
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
