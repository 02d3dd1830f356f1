"""Debian's prometheus-node-exporter on a free loopback port: this machine's real CPU,
memory, disks and network, for the resource tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.binaries import binary, free_port, running

# Collectors the resource pages and rules read; the rest are off so a scrape stays small
# and fast on a loaded test machine.
COLLECTORS = ("cpu", "meminfo", "filesystem", "loadavg", "netdev", "uname")


@contextmanager
def node_exporter(workdir: Path) -> Iterator[str]:
    """Yields the exporter's ``host:port`` once its /metrics answers."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    args = [binary("prometheus-node-exporter", "node_exporter"),
            f"--web.listen-address={address}", "--collector.disable-defaults",
            *(f"--collector.{name}" for name in COLLECTORS)]
    with running(args, f"http://{address}/metrics", workdir / "node_exporter.log"):
        yield address
