"""What Grafana does with a dashboard's queries before Prometheus sees them, for tests that
run those queries themselves: template variables resolved in order (``label_values``,
``query_result``, a regex with ``text``/``value`` groups), ``$var``/``${var}``/``${var:fmt}``
interpolated as the Prometheus datasource does, and the built-in ``$__interval``,
``$__rate_interval`` and ``$__range`` worked out from the dashboard's time range.

Modelled on Grafana 11 (docker-compose's image): TemplateSrv.replace (a format named in
the expression wins over the datasource's), PrometheusDatasource.interpolateQueryExpr
(a single-value variable goes in as it is, a multi/All one regex-escaped and joined),
metric_find_query.ts (query_result's text is ``name{a="x",b="y"} value timestamp``) and
rangeutil.roundInterval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATASOURCES = ROOT / "provisioning" / "grafana" / "datasources" / "prometheus.yml"
ALL = "$__all"
# ${name}, ${name:format}, $name and [[name]] / [[name:format]], as Grafana's VARIABLE_REGEX.
VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")
DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
           "w": 604_800_000, "y": 31_536_000_000}
# rangeutil.roundInterval: (below this many ms, use that many ms)
ROUNDING = ((15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
            (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
            (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000),
            (750000, 600000), (1050000, 900000), (1500000, 1200000), (2700000, 1800000),
            (5400000, 3600000), (9000000, 7200000), (16200000, 10800000),
            (32400000, 21600000), (86400000, 43200000), (604800000, 86400000),
            (1814400000, 604800000), (3628800000, 2592000000))
GRID_PX = 1800  # a dashboard 24 columns wide on a 1920 px screen: a panel's maxDataPoints


def duration_ms(text: str) -> int:
    parts = DURATION.findall(text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {text!r}"
    return sum(int(n) * UNIT_MS[u] for n, u in parts)


def round_interval(ms: float) -> int:
    for below, rounded in ROUNDING:
        if ms < below:
            return rounded
    return 31_536_000_000


def as_duration(ms: int) -> str:
    for unit in ("d", "h", "m", "s"):
        if ms % UNIT_MS[unit] == 0:
            return f"{ms // UNIT_MS[unit]}{unit}"
    return f"{ms}ms"


def provisioned_datasource() -> dict:
    """The Prometheus datasource as provisioning/grafana provisions it."""
    [source] = [s for s in yaml.safe_load(DATASOURCES.read_text())["datasources"]
                if s["type"] == "prometheus"]
    return source


def scrape_interval_ms() -> int:
    """The datasource's ``timeInterval``: the floor of $__interval and the base of
    $__rate_interval (15 s, Grafana's default, when unset)."""
    return duration_ms(provisioned_datasource().get("jsonData", {}).get("timeInterval", "15s"))


@dataclass
class Variable:
    """A template variable's chosen value(s) and the text Grafana shows for them."""

    name: str
    value: str | list[str]
    text: str | list[str]
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (text, value)


def regex_escape(value: str) -> str:
    """prometheusSpecialRegexEscape: a value inside a =~ matcher's string literal."""
    value = value.replace("\\", "\\" * 4)
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(0), value)


def format_value(variable: Variable, fmt: str | None) -> str:
    if fmt == "text":
        text = variable.text
        return " + ".join(text) if isinstance(text, list) else text
    if variable.value == ALL or variable.value == [ALL]:
        if variable.all_value is not None:
            return variable.all_value
        values = [value for _text, value in variable.options]
    else:
        values = variable.value if isinstance(variable.value, list) else [variable.value]
    if fmt == "raw":
        return ",".join(values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt == "csv":
        return ",".join(values)
    if fmt in (None, "regex"):
        if fmt is None and not variable.multi and not variable.include_all:
            return values[0].replace("\\", "\\\\").replace("'", "\\\\'")
        escaped = [regex_escape(value) for value in values]
        return escaped[0] if len(escaped) == 1 else f"({'|'.join(escaped)})"
    raise AssertionError(f"format {fmt!r} of ${variable.name} is not emulated here")


@dataclass
class TimeRange:
    """The dashboard's time range as Grafana resolves it, ending now."""

    end_s: float
    range_ms: int

    @classmethod
    def of(cls, board: dict, now_s: float) -> TimeRange:
        start = board.get("time", {}).get("from", "now-6h")
        assert board.get("time", {}).get("to", "now") == "now", "a range ending now"
        match = re.fullmatch(r"now-(\w+)", start)
        assert match, f"time.from {start!r} is not now-<duration>"
        return cls(now_s, duration_ms(match.group(1)))

    @property
    def start_s(self) -> float:
        return self.end_s - self.range_ms / 1000

    def interval_ms(self, panel: dict) -> int:
        """$__interval of a panel: the range over its maxDataPoints (its width in px),
        rounded, never below the datasource's scrape interval or the panel's own."""
        points = panel.get("maxDataPoints") or round(panel["gridPos"]["w"] / 24 * GRID_PX)
        floor = scrape_interval_ms()
        if panel.get("interval"):
            floor = duration_ms(panel["interval"].lstrip(">"))
        return max(round_interval(self.range_ms / points), floor)

    def builtins(self, panel: dict | None) -> dict[str, str]:
        interval = self.interval_ms(panel) if panel else scrape_interval_ms()
        scrape = scrape_interval_ms()
        rate = max(interval + scrape, 4 * scrape)
        return {"__interval": as_duration(interval), "__interval_ms": str(interval),
                "__rate_interval": as_duration(rate), "__rate_interval_ms": str(rate),
                "__range": f"{self.range_ms // 1000}s", "__range_s": str(self.range_ms // 1000),
                "__range_ms": str(self.range_ms)}


def interpolate(text: str, variables: dict[str, Variable], builtins: dict[str, str]) -> str:
    """TemplateSrv.replace for the Prometheus datasource; an unknown variable fails."""

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        assert not match.group(5), f"field paths are not emulated: {match.group(0)}"
        if name in builtins:
            return builtins[name]
        assert name in variables, f"{match.group(0)} names no variable of the dashboard"
        return format_value(variables[name], fmt)

    return VARIABLE.sub(replace, text)


def js_regex(pattern: str) -> re.Pattern:
    """A variable's ``/.../flags`` regex in Python's syntax (named groups)."""
    match = re.fullmatch(r"/(.*)/([gimsuy]*)", pattern, re.DOTALL)
    body, flags = (match.group(1), match.group(2)) if match else (pattern, "")
    body = body.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")
    return re.compile(body, re.IGNORECASE if "i" in flags else 0)


class Prometheus:
    """The HTTP API calls Grafana's Prometheus datasource makes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: object) -> dict:
        answer = requests.get(f"{self.url}{path}", params=params, timeout=15).json()
        assert answer["status"] == "success", (path, params, answer)
        return answer["data"]

    def instant(self, expr: str, at: float | None = None) -> list[dict]:
        params = {"query": expr} | ({"time": at} if at is not None else {})
        return self.get("/api/v1/query", **params)["result"]

    def range(self, expr: str, start: float, end: float, step_ms: int) -> list[dict]:
        step = max(step_ms / 1000, (end - start) / 11000)  # Prometheus's 11,000-point limit
        return self.get("/api/v1/query_range", query=expr, start=start, end=end,
                        step=step)["result"]

    def find(self, query: str, when: TimeRange) -> list[str]:
        """metricFindQuery: the texts a variable query gives (before its regex)."""
        query = query.strip()
        if match := re.fullmatch(r"label_values\((?:(.+),\s*)?(\w+)\)", query, re.DOTALL):
            selector, label = match.groups()
            params = {"start": when.start_s, "end": when.end_s}
            if selector:
                params["match[]"] = selector
            return sorted(self.get(f"/api/v1/label/{label}/values", **params))
        if match := re.fullmatch(r"query_result\((.+)\)", query, re.DOTALL):
            texts = []
            for series in self.instant(match.group(1), when.end_s):
                labels = dict(series["metric"])
                name = labels.pop("__name__", "")
                inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
                value, at = series["value"][1], series["value"][0]
                texts.append(f"{name}{{{inner}}} {value} {int(at * 1000)}")
            return texts
        raise AssertionError(f"variable query {query!r} is not emulated here")


def options(texts: list[str], regex: str | None) -> list[tuple[str, str]]:
    """(text, value) of each option, as a query variable's regex makes them."""
    if not regex:
        return [(text, text) for text in dict.fromkeys(texts)]
    pattern = js_regex(regex)
    found = {}
    for text in texts:
        match = pattern.search(text)
        if not match:
            continue
        groups = match.groupdict()
        if "text" in groups or "value" in groups:
            value = groups.get("value") or groups.get("text")
            shown = groups.get("text") or value
        elif match.groups():
            value = shown = next(g for g in match.groups() if g is not None)
        else:
            value = shown = text
        found.setdefault(value, shown)
    return [(shown, value) for value, shown in found.items()]


SORTS = {0: None, 1: (False, False), 2: (True, False), 3: (False, True), 4: (True, True),
         5: (False, "ci"), 6: (True, "ci")}


def sort_options(found: list[tuple[str, str]], sort: int) -> list[tuple[str, str]]:
    how = SORTS.get(sort)
    if how is None:
        return found
    reverse, kind = how
    if kind is True:  # numerical, by the first number in the text
        def key(option):
            number = re.search(r"-?\d+(\.\d+)?", option[0])
            return float(number.group(0)) if number else float("-inf")
    elif kind == "ci":
        def key(option):
            return option[0].lower()
    else:
        def key(option):
            return option[0]
    return sorted(found, key=key, reverse=reverse)


def resolve(board: dict, prometheus: Prometheus, when: TimeRange, uid: str,
            chosen: dict[str, str] | None = None) -> dict[str, Variable]:
    """Every variable of ``board``, in order, each query run with the ones before it.
    ``chosen``: a value per variable name, as a URL's ``var-<name>`` sets it (a
    variable not named keeps its saved ``current``, or its first option)."""
    chosen = chosen or {}
    resolved: dict[str, Variable] = {}
    for spec in board.get("templating", {}).get("list", []):
        name, kind = spec["name"], spec["type"]
        if kind == "datasource":
            assert spec["query"] == "prometheus", spec
            resolved[name] = Variable(name, chosen.get(name, uid), "Prometheus",
                                      options=[("Prometheus", uid)])
            continue
        assert kind == "query", f"variable type {kind} is not emulated here"
        query = spec["query"]["query"] if isinstance(spec["query"], dict) else spec["query"]
        query = interpolate(query, resolved, when.builtins(None))
        found = sort_options(options(prometheus.find(query, when), spec.get("regex")),
                             spec.get("sort", 0))
        variable = Variable(name, "", "", multi=spec.get("multi", False),
                            include_all=spec.get("includeAll", False),
                            all_value=spec.get("allValue"), options=found)
        wanted = chosen.get(name, spec.get("current", {}).get("value"))
        if wanted in (ALL, [ALL]) and variable.include_all:
            variable.value, variable.text = ALL, "All"
        elif wanted is not None and any(value == wanted for _t, value in found):
            variable.value = wanted
            variable.text = next(text for text, value in found if value == wanted)
        elif found:
            variable.text, variable.value = found[0]
        resolved[name] = variable
    return resolved


def panels(board: dict) -> list[dict]:
    """Every panel, those inside rows too."""
    out = []
    for panel in board.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out
