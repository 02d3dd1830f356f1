"""A server's resources (CPU, memory, disks, load, network) from the ``servermon-nodes``
scrape job: the fixed PromQL of the server page's resource charts and gauges, and of the
dashboard's worst resource per server, built here and never sent by a browser.

Each expression reads node_exporter's metrics ``or`` windows_exporter's, so the portal
need not know which one a server runs: only one of them has series for it. Pseudo
filesystems (tmpfs, overlay, squashfs, ...) and virtual network interfaces (loopback,
bridges, veth, tunnels) are left out: they are full or busy by design, or count traffic
twice, and would only ever be the "worst resource" by accident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from portal.charts.prometheus import query
from portal.errors import APIError
from portal.extensions import db
from portal.servers.models import Server

JOB = 'job="servermon-nodes"'
IDLE = 'mode="idle"'
CURRENT_WINDOW = "2m"  # a rate over at least four scrapes at the usual 30 s
MIN_WINDOW_S = 120  # the charts' rates likewise, however short their step
PSEUDO_FS = ("tmpfs|devtmpfs|ramfs|overlay|squashfs|erofs|autofs|proc|sysfs|cgroup2?|nsfs"
             "|devpts|mqueue|hugetlbfs|debugfs|tracefs|securityfs|pstore|bpf|configfs"
             "|efivarfs|binfmt_misc|fusectl|rpc_pipefs|nfsd|selinuxfs|iso9660|fuse\\\\..+")
PSEUDO_MOUNTS = "/(proc|sys|dev|run)(/.*)?|/var/lib/(docker|containers|kubelet)/.+|/snap/.+"
VIRTUAL_NICS = ("lo|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*|cali.*|vxlan.*|tun.*|tap.*"
                "|ifb.*|dummy.*|kube-.*|lxc.*|lxdbr.*|wg.*")
WINDOWS_VIRTUAL_NICS = "(?i).*(isatap|teredo|loopback|pseudo|6to4).*"


def _m(sel: str, *matchers: str) -> str:
    """A selector of the job's series: ``sel`` (one server, or "" for all) and ``matchers``."""
    return "{" + ",".join(part for part in (JOB, sel, *matchers) if part) + "}"


def _tag(expr: str, label: str, value: str) -> str:
    """``expr`` with one more label (``label_replace`` on a label every series has)."""
    return f'label_replace({expr}, "{label}", "{value}", "__name__", ".*")'


def cpu(sel: str, window: str) -> str:
    """Busy share of all CPUs, percent."""
    return " or ".join(
        f'100 * (1 - avg by (server_id) (rate({metric}{_m(sel, IDLE)}[{window}])))'
        for metric in ("node_cpu_seconds_total", "windows_cpu_time_total"))


def memory(sel: str, window: str) -> str:
    """Memory in use (not available to programs), percent."""
    node = (f"100 * (1 - max by (server_id) (avg_over_time(node_memory_MemAvailable_bytes"
            f"{_m(sel)}[{window}]))"
            f" / max by (server_id) (node_memory_MemTotal_bytes{_m(sel)}))")
    windows = (f"100 * (1 - max by (server_id) (avg_over_time(windows_os_physical_memory_free_bytes"
               f"{_m(sel)}[{window}]))"
               f" / max by (server_id) (windows_cs_physical_memory_bytes{_m(sel)}))")
    return f"{node} or {windows}"


def disk(sel: str) -> str:
    """Each real filesystem's space in use, percent, labelled ``mountpoint`` (a Windows
    volume's letter, "C:", goes in the same label)."""
    fs = _m(sel, f'fstype!~"{PSEUDO_FS}"', f'mountpoint!~"{PSEUDO_MOUNTS}"')
    node = (f"100 * (1 - max by (server_id, mountpoint) (node_filesystem_avail_bytes{fs})"
            f" / max by (server_id, mountpoint) (node_filesystem_size_bytes{fs}))")
    volume = _m(sel, 'volume!~"HarddiskVolume.*"')
    windows = ('label_replace(100 * (1 - max by (server_id, volume) '
               f"(windows_logical_disk_free_bytes{volume})"
               f" / max by (server_id, volume) (windows_logical_disk_size_bytes{volume})),"
               ' "mountpoint", "$1", "volume", "(.*)")')
    return f"{node} or {windows}"


def _cpus(sel: str) -> str:
    return f'count by (server_id) (node_cpu_seconds_total{_m(sel, IDLE)})'


def load_per_cpu(sel: str, window: str, minutes: str = "1") -> str:
    """The load average per CPU (1 = every CPU busy, on average); node_exporter only:
    Windows has no load average."""
    return (f"max by (server_id) (avg_over_time(node_load{minutes}{_m(sel)}"
            f"[{window}])) / {_cpus(sel)}")


def network(sel: str, window: str) -> str:
    """Bytes per second received and sent over the real interfaces, labelled ``direction``."""
    node = _m(sel, f'device!~"{VIRTUAL_NICS}"')
    windows = _m(sel, f'nic!~"{WINDOWS_VIRTUAL_NICS}"')
    parts = []
    for direction, node_metric, windows_metric in (
            ("received", "node_network_receive_bytes_total", "windows_net_bytes_received_total"),
            ("sent", "node_network_transmit_bytes_total", "windows_net_bytes_sent_total")):
        parts.append(_tag(f"(sum by (server_id) (rate({node_metric}{node}[{window}]))"
                          f" or sum by (server_id) (rate({windows_metric}{windows}[{window}])))",
                          "direction", direction))
    return " or ".join(parts)


def _load_chart(sel: str, window: str) -> str:
    return " or ".join(
        _tag(f"({load_per_cpu(sel, window, minutes)})", "load", f"{minutes} min")
        for minutes in ("1", "5", "15"))


ONE = 'server_id="{id}"'  # one server, in a template chart() fills in


def _template(expr: str) -> str:
    """PromQL built around ONE and "{window}" as a ``str.format`` template of ``id`` and
    ``window``, as portal.charts.queries has its charts (PromQL's braces doubled)."""
    doubled = expr.replace("{", "{{").replace("}", "}}")
    return doubled.replace("{{id}}", "{id}").replace("{{window}}", "{window}")
# The server page's resource charts, as portal.charts.queries.CHARTS has them: templates of
# ``id`` and ``window`` (doubled braces are PromQL's own).
CHARTS = {
    "cpu": cpu(ONE, "{window}"),
    "memory": memory(ONE, "{window}"),
    "disk": disk(ONE),
    "load": _load_chart(ONE, "{window}"),
    "network": network(ONE, "{window}"),
}
CHARTS = {name: _template(expr) for name, expr in CHARTS.items()}


def _current(sel: str) -> str:
    return " or ".join((
        _tag(f"({cpu(sel, CURRENT_WINDOW)})", "resource", "cpu"),
        _tag(f"({memory(sel, CURRENT_WINDOW)})", "resource", "memory"),
        _tag(f"({disk(sel)})", "resource", "disk"),
        _tag(f"({load_per_cpu(sel, CURRENT_WINDOW)})", "resource", "load"),
        _tag(f"({network(sel, CURRENT_WINDOW)})", "resource", "network"),
        _tag(f"max by (server_id) (up{_m(sel)})", "resource", "up"),
    ))


# Every current figure of one server in one instant query, each series labelled
# ``resource`` (cpu, memory, disk per mountpoint, load, network per direction, up).
CURRENT = _template(_current(ONE))
# The worst of CPU, memory and the fullest disk of every server the job scrapes, one
# series per server: one query for a whole dashboard, whatever its size.
WORST = ("topk by (server_id) (1, "
         + " or ".join((_tag(f"({cpu('', CURRENT_WINDOW)})", "resource", "cpu"),
                        _tag(f"({memory('', CURRENT_WINDOW)})", "resource", "memory"),
                        _tag(f"({disk('')})", "resource", "disk")))
         + ")")

# Percent at or above WARN shows amber, at or above DANGER red; load per CPU likewise.
WARN_PCT = 80.0
DANGER_PCT = 90.0
LOAD_WARN = 1.0
LOAD_DANGER = 2.0
DASHBOARD_TIMEOUT_S = 2  # a page of tiles waits no longer than this for the worst resources
PAGE_TIMEOUT_S = 3  # nor the server page for its gauges


def grade(value: float, warn: float = WARN_PCT, danger: float = DANGER_PCT) -> str:
    return "danger" if value >= danger else ("warn" if value >= warn else "ok")


@dataclass(frozen=True)
class Figure:
    """One current figure: ``name`` says what ("cpu", "memory", "disk", "load", "network"),
    ``detail`` which (a mount point, "received"/"sent"), ``value`` the number (percent,
    load per CPU, bytes per second)."""

    name: str
    detail: str | None
    value: float

    @property
    def grade(self) -> str:
        if self.name == "load":
            return grade(self.value, LOAD_WARN, LOAD_DANGER)
        return "ok" if self.name == "network" else grade(self.value)

    @property
    def text(self) -> str:
        """As a dashboard cell says it: "disk /var 93 %", "cpu 12 %"."""
        what = f"disk {self.detail}" if self.name == "disk" else self.name
        return f"{what} {self.value:.0f} %"

    @property
    def short(self) -> str:
        """As a fleet cell's narrow column says it: "/var 93%", "cpu 12%", "mem 40%"."""
        what = {"disk": self.detail, "memory": "mem"}.get(self.name, self.name)
        return f"{what} {self.value:.0f}%"


def _figures(result: list[dict]) -> list[tuple[dict, Figure]]:
    found = []
    for item in result:
        labels = item["metric"]
        value = float(item["value"][1])
        if not math.isfinite(value):  # a disk of size 0, a counter reset
            continue
        name = labels.get("resource", "")
        detail = labels.get("mountpoint") or labels.get("direction")
        found.append((labels, Figure(name, detail, round(value, 2))))
    return found


def current(server_id: int) -> dict:
    """The server page's gauges: ``figures`` (cpu, memory, load, each a Figure or None;
    ``disks`` and ``network`` lists), ``up`` (whether Prometheus reaches the exporter; None
    before its first scrape) and ``error`` (Prometheus unreachable) instead of a failure."""
    empty = {"cpu": None, "memory": None, "load": None, "disks": [], "network": [], "up": None,
             "error": None}
    try:
        result = query(CURRENT.format(id=server_id), timeout=PAGE_TIMEOUT_S)["result"]
    except APIError as exc:
        if exc.status < 500:
            raise
        return {**empty, "error": exc.message}
    figures = dict(empty)
    for _labels, figure in _figures(result):
        if figure.name in ("cpu", "memory", "load"):
            figures[figure.name] = figure
        elif figure.name == "disk":
            figures["disks"].append(figure)
        elif figure.name == "network":
            figures["network"].append(figure)
        elif figure.name == "up":
            figures["up"] = figure.value == 1
    figures["disks"].sort(key=lambda figure: figure.detail or "")
    figures["network"].sort(key=lambda figure: figure.detail or "")
    return figures


def worst(ids: list[int]) -> dict[int, Figure]:
    """The worst of CPU, memory and the fullest disk of each of ``ids`` that has a resources
    endpoint, from one query; empty when Prometheus is away (the dashboard shows none, and
    waits at most DASHBOARD_TIMEOUT_S for it) and without a query when none of them has
    one."""
    with_endpoint = set(db.session.scalars(
        select(Server.id).where(Server.resources_endpoint.is_not(None))))
    wanted = {str(server_id) for server_id in ids if server_id in with_endpoint}
    if not wanted:
        return {}
    try:
        result = query(WORST, timeout=DASHBOARD_TIMEOUT_S)["result"]
    except APIError:
        return {}
    return {int(labels["server_id"]): figure for labels, figure in _figures(result)
            if labels.get("server_id") in wanted}
