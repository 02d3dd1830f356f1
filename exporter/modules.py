"""The modules ``/probe?module=<name>`` answers to: blackbox_exporter's, and servermon's kinds.

``module=http|tcp|icmp|dns`` is servermon's own probe of that kind with its defaults (what
the portal's "test now" and the classic job rendered by ``provisioning/render.py
--blackbox-job`` send). Any other name is a blackbox module: those of the file named by
``BLACKBOX_CONFIG`` (blackbox.yml's format, read by :mod:`wire.blackbox`), else the ones
servermon ships, named as in Debian's /etc/prometheus/blackbox.yml (``http_2xx``,
``http_post_2xx``, ``tcp_connect``, ``pop3s_banner``, ``ssh_banner``, ``icmp``). So a
Prometheus job written for blackbox_exporter keeps working when pointed at servermon.

The file is read once, at start: every module must map onto servermon's settings and make
a target the exporter accepts, or the exporter does not start, saying which module and
which field are wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from exporter.targets import Target
from wire import PROBE_SETTINGS
from wire.blackbox import BlackboxError, Module, default_modules, load, lookup

# Where each kind's settings are tried at start (never connected to).
_SAMPLE_TARGETS = {"http": "http://probe.invalid/", "tcp": "probe.invalid:1",
                   "icmp": "probe.invalid", "dns": "probe.invalid"}


@dataclass(frozen=True)
class Modules:
    """The named blackbox modules; ``source`` says where they came from (for logs)."""

    by_name: Mapping[str, Module] = field(default_factory=default_modules)
    source: str = "servermon's defaults"

    def get(self, name: str) -> Module:
        """The module called ``name``; a kind is servermon's own probe, with no settings.
        ValueError names an unknown module and lists the known ones."""
        return lookup(self.by_name, name)


def check(modules: Mapping[str, Module]) -> None:
    """Every module's settings are ones this exporter has and accepts; BlackboxError
    names each module that is not."""
    problems = []
    for module in modules.values():
        missing = sorted(set(module.settings) - set(PROBE_SETTINGS))
        if missing:
            problems.append(f"module {module.name}: needs the setting(s) {', '.join(missing)}, "
                            "which this exporter does not have")
            continue
        address, settings = module.probe_target(_SAMPLE_TARGETS[module.kind])
        if module.kind == "dns":
            settings["dns_resolver"] = "127.0.0.1"
        try:
            Target.from_settings(0, module.name, module.kind, address, settings, "")
        except ValueError as exc:
            problems.append(f"module {module.name}: {exc}")
    if problems:
        raise BlackboxError(problems)


def load_modules(path: str | Path | None) -> Modules:
    """The modules of ``BLACKBOX_CONFIG`` (``path``), or the defaults without one.
    BlackboxError lists every problem, each naming its module and field."""
    if path is None:
        return Modules()
    modules = load(Path(path))
    check(modules)
    return Modules(by_name=modules, source=str(path))
